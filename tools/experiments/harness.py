"""The experiment harness of mmext's studies: variants x seeds, one ``tools/train.py`` each.

A study (one file per study under ``tools/experiments/``) fixes *everything* before it runs:
the schedule shared by every variant, the seeds, the variants (config + ``--cfg-options``)
and the claims it tests. This module runs it:

* every (variant, seed) is its own ``tools/train.py`` process (``OMP_NUM_THREADS=1``),
  ``--jobs N`` of them at a time;
* a finished run is cached by ``(resolved config content, options, seed)``: its folder holds
  ``run.json`` (curves, final metrics, wall and CPU time, the exact command), the training
  log and mmengine's ``vis_data/scalars.json``; an interrupted study resumes where it stopped,
  and a changed config or option is a new run, never a stale one; a run another study
  (a sibling folder) trained with the same key is copied, not retrained (``reused_from`` in
  its ``run.json``);
* a progress line per finished run with the elapsed time and an ETA;
* ``--quick`` runs every variant for a few iterations (validating each one) into a separate
  folder, to check the whole path (harness, report, plot) and not the numbers;
* ``--replot`` redraws a written report's figure from its JSON (nothing trained or read from
  the run folders; markdown and JSON unchanged).

The statistics are :mod:`tools.experiments.stats`, the report :mod:`tools.experiments.report`.

    python tools/experiments/<study>.py [--jobs 2] [--quick] [--replot]
"""

import argparse
import dataclasses
import glob
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


@dataclass(frozen=True)
class Variant:
    """One arm of a study.

    Args:
        name (str): Row label in the report.
        config (str): Config path relative to the repository root.
        options (Tuple[str, ...]): ``--cfg-options`` of this arm (after the study's schedule).
        baseline (str, optional): Name of the variant its paired differences are taken to.
        group (str): Panel of the curves figure / block of the tables.
        quick (Tuple[str, ...]): ``--cfg-options`` of this arm added after the study's
            ``quick`` ones by ``--quick`` (e.g. the dataset-size key of a wrapped dataset).
    """

    name: str
    config: str
    options: Tuple[str, ...] = ()
    baseline: Optional[str] = None
    group: str = ''
    quick: Tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return re.sub(r'[^a-z0-9]+', '-', self.name.lower()).strip('-')


@dataclass(frozen=True)
class Claim:
    """A paper's claim as a paired comparison.

    Args:
        name (str): What the paper claims, in words.
        method (str): Variant that should be better.
        baseline (str): Variant it is compared to (same seeds).
        metric (str): Metric key of the final validation.
        direction (int): ``+1`` when the claim is that the metric rises, ``-1`` falls.
    """

    name: str
    method: str
    baseline: str
    metric: str
    direction: int = 1


@dataclass
class Study:
    """A study fixed before it runs (see the module docstring).

    Args:
        name (str): Slug; results go to ``docs/results/<name>.{md,json,png}``.
        title (str): Report title.
        variants (List[Variant]): The arms.
        seeds (Tuple[int, ...]): Seeds of every arm.
        schedule (Tuple[str, ...]): ``--cfg-options`` shared by every arm (schedule, lr,
            validation points, loader settings).
        metrics (List[Tuple[str, str]]): ``(label, key)`` of the table's metrics.
        claims (List[Claim]): The paired comparisons that get a verdict.
        setup (List[str]): Markdown lines describing the data, model and protocol.
        primary (str): Metric of the curves and the convergence check. Defaults to mIoU.
        converge_tol (float): A baseline whose last validation interval gains more than
            this (mean over seeds, metric units) is "not converged". Defaults to 1.0.
        quick (Tuple[str, ...]): ``--cfg-options`` added by ``--quick``.
        prepare (Callable, optional): Called once before the runs (e.g. builds the data, so
            that parallel runs do not race to build it).
        quick_prepare (Callable, optional): Called instead of ``prepare`` by ``--quick``
            (e.g. a shortened pre-training). Defaults to ``prepare``.
        sections (Callable, optional): ``sections(study, runs) -> List[str]``: extra report
            sections (markdown lines) computed from the finished runs.
        train_scalars (Tuple[str, ...]): Prefixes of training scalars kept in ``run.json``
            (e.g. ``'tce/weight/'``).
        scale (float): Factor applied to every metric value in the report and the progress
            lines (100 for metrics logged as fractions, e.g. mmdet's COCO mAP); the report's
            tables, curves and ``converge_tol`` are in the scaled units. Defaults to 1.
        fill (Dict[str, float]): Values of metrics that a validation record lacks. mmdet's
            ``CocoMetric`` logs no AP at all when the model detects nothing on the whole val
            set (an AP of 0): with ``primary`` in ``fill``, a validation record without any
            metric is kept and completed from ``fill``. Defaults to none.
        step_unit (str): What the validation steps count (``'iteration'`` or ``'epoch'``),
            for the convergence table and the curves' axis. Defaults to ``'iteration'``.
    """

    name: str
    title: str
    variants: List[Variant]
    seeds: Tuple[int, ...]
    schedule: Tuple[str, ...]
    metrics: List[Tuple[str, str]]
    claims: List[Claim]
    setup: List[str]
    primary: str = 'mIoU'
    converge_tol: float = 1.0
    quick: Tuple[str, ...] = ()
    prepare: Optional[Callable[['Study'], None]] = None
    quick_prepare: Optional[Callable[['Study'], None]] = None
    sections: Optional[Callable[['Study', List[dict]], List[str]]] = None
    train_scalars: Tuple[str, ...] = ()
    baselines: List[str] = field(default_factory=list)
    scale: float = 1.0
    fill: Dict[str, float] = field(default_factory=dict)
    step_unit: str = 'iteration'

    def __post_init__(self) -> None:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f'{self.name}: duplicate variant names')
        known = set(names)
        for v in self.variants:
            if v.baseline is not None and v.baseline not in known:
                raise ValueError(f'{v.name}: unknown baseline {v.baseline!r}')
        for c in self.claims:
            if c.method not in known or c.baseline not in known:
                raise ValueError(f'claim {c.name!r} names an unknown variant')
        if not self.baselines:
            self.baselines = sorted(
                {v.baseline for v in self.variants if v.baseline}, key=names.index
            )

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def subset(self, names: Sequence[str]) -> 'Study':
        """The study restricted to ``names`` and the baselines they are compared with.

        Claims whose two arms are both kept stay; the others are dropped.

        Args:
            names (Sequence[str]): Variant names.

        Returns:
            Study: A copy with fewer variants and claims.
        """
        unknown = sorted(set(names) - {v.name for v in self.variants})
        if unknown:
            raise ValueError(f'{self.name}: unknown variants {unknown}')
        keep = set(names)
        for name in names:
            base = self.variant(name).baseline
            while base is not None and base not in keep:
                keep.add(base)
                base = self.variant(base).baseline
        return dataclasses.replace(
            self,
            variants=[v for v in self.variants if v.name in keep],
            claims=[c for c in self.claims if {c.method, c.baseline} <= keep],
            baselines=[b for b in self.baselines if b in keep],
        )


def config_digest(config: str) -> str:
    """SHA-1 of a config resolved with all its bases (mmengine ``Config.fromfile``)."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(REPO, config))
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()


def run_key(digest: str, options: Sequence[str], seed: int) -> str:
    """Cache key of one run: resolved config, every option in order, seed."""
    text = json.dumps(dict(config=digest, options=list(options), seed=seed), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def parse_options(options: Sequence[str]) -> dict:
    """``--cfg-options`` strings parsed exactly as ``tools/train.py`` parses them."""
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--cfg-options', *options] if options else []).cfg_options


def load_config(config: str, options: Sequence[str] = ()):
    """A config (path relative to the repository) with ``--cfg-options`` applied."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict(parse_options(options))
    return cfg


def build_datasets(
    config: str, options: Sequence[str] = (), splits: Sequence[str] = ('train', 'val')
) -> None:
    """Build a config's datasets once in this process (offline digits data is generated on
    first use), so that parallel runs never race to generate the same files."""
    from mmengine.registry import DATASETS, init_default_scope

    cfg = load_config(config, options)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    cwd = os.getcwd()
    os.chdir(REPO)  # data roots in configs are relative to the working directory
    try:
        for split in splits:
            DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    finally:
        os.chdir(cwd)


#: keys of a validation record of mmengine's LoggerHook whose evaluator returned no metric
EMPTY_VAL_KEYS = frozenset({'step', 'time', 'data_time'})


def read_scalars(
    work_dir: str,
    primary: str,
    prefixes: Sequence[str] = (),
    fill: Optional[Dict[str, float]] = None,
) -> Dict[str, list]:
    """Validation records, training losses and requested training scalars of one run.

    Args:
        work_dir (str): The run's ``--work-dir`` (mmengine writes
            ``<timestamp>/vis_data/scalars.json`` below it). Only the newest
            ``<timestamp>`` is read: an older one is an interrupted attempt of the run.
        primary (str): A key present in every validation record.
        prefixes (Sequence[str]): Training-scalar prefixes to keep.
        fill (Dict[str, float], optional): Values of metrics missing from a validation
            record (see :class:`Study`); with ``primary`` in it, a record holding only
            :data:`EMPTY_VAL_KEYS` counts as a validation record.

    Returns:
        dict: ``val`` (records with ``step``), ``loss`` (``[step, loss]`` pairs) and
        ``scalars`` (``[step, {key: value}]`` pairs of the requested prefixes).
    """
    import glob

    fill = dict(fill or {})
    val, loss, scalars = [], [], []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))[-1:]:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                step = rec.get('step', rec.get('iter'))
                empty_val = primary in fill and 'time' in rec and set(rec) <= EMPTY_VAL_KEYS
                if primary in rec or empty_val:
                    val.append({**fill, **rec})
                    continue
                if 'loss' in rec:
                    loss.append([step, rec['loss']])
                # hooks may log their scalars in records of their own (no 'loss' key)
                kept = {k: v for k, v in rec.items() if any(k.startswith(p) for p in prefixes)}
                if kept:
                    scalars.append([step, kept])
    return dict(val=val, loss=loss, scalars=scalars)


class Runner:
    """Runs a study's (variant, seed) pairs; see the module docstring."""

    def __init__(self, study: Study, work_dir: str, jobs: int = 1, quick: bool = False) -> None:
        self.study = study
        self.work_dir = work_dir
        self.jobs = max(1, int(jobs))
        self.quick = quick
        self._lock = threading.Lock()
        self._digests: Dict[str, str] = {}

    def options(self, variant: Variant) -> List[str]:
        opts = list(self.study.schedule) + list(variant.options)
        return opts + list(self.study.quick) + list(variant.quick) if self.quick else opts

    def run_id(self, variant: Variant, seed: int) -> str:
        """``seed<seed>_<key>`` (:func:`run_key`): the end of the run folder's name, which
        identifies the run in any study."""
        if variant.config not in self._digests:
            self._digests[variant.config] = config_digest(variant.config)
        return f'seed{seed}_{run_key(self._digests[variant.config], self.options(variant), seed)}'

    def run_dir(self, variant: Variant, seed: int, run_id: Optional[str] = None) -> str:
        """``<work_dir>/<slug>_<run id>``; ``run_id`` if already computed."""
        return osp.join(self.work_dir, f'{variant.slug}_{run_id or self.run_id(variant, seed)}')

    def command(self, variant: Variant, seed: int, run_dir: str) -> List[str]:
        return [
            sys.executable,
            osp.join('tools', 'train.py'),
            variant.config,
            '--work-dir',
            run_dir,
            '--cfg-options',
            f'randomness.seed={seed}',
            *self.options(variant),
        ]

    def twin(self, run_id: str) -> Optional[str]:
        """A finished run of another study under the same parent folder with this run's id.

        The id (:meth:`run_id`) covers the resolved config, every option and the seed, so
        such a run is the run this study would train (the training is deterministic: a rerun
        of a cached run gave the same mAP to the last digit); the study's name is not part
        of it.
        """
        pattern = osp.join(osp.dirname(self.work_dir), '*', f'*_{run_id}', 'run.json')
        found = sorted(
            osp.dirname(p)
            for p in glob.glob(pattern)
            if osp.dirname(osp.dirname(p)) != osp.normpath(self.work_dir)
        )
        return found[0] if found else None

    def reuse(self, twin: str, run_dir: str, variant: Variant) -> None:
        """Copy ``twin`` (see :meth:`twin`) to ``run_dir``; its record names where it came from."""
        shutil.copytree(twin, run_dir)
        result = osp.join(run_dir, 'run.json')
        with open(result) as f:
            rec = json.load(f)
        rec.update(
            variant=variant.name, run_dir=osp.relpath(run_dir, REPO), reused_from=rec['run_dir']
        )
        with open(result + '.tmp', 'w') as f:
            json.dump(rec, f)
        os.replace(result + '.tmp', result)

    def run_one(self, variant: Variant, seed: int) -> dict:
        """Train one (variant, seed) unless its ``run.json`` exists; returns the record."""
        run_id = self.run_id(variant, seed)
        run_dir = self.run_dir(variant, seed, run_id)
        result = osp.join(run_dir, 'run.json')
        if not osp.isfile(result):
            if osp.isdir(run_dir):  # an interrupted attempt (no run.json): start afresh
                shutil.rmtree(run_dir)
            twin = self.twin(run_id)
            if twin is not None:
                self.reuse(twin, run_dir, variant)
        if osp.isfile(result):
            with open(result) as f:
                rec = json.load(f)
            # re-read the logged curves, so a report can use scalars asked for later
            rec.update(
                read_scalars(run_dir, self.study.primary, self.study.train_scalars, self.study.fill)
            )
            rec['cached'] = True
            return rec
        os.makedirs(run_dir)
        cmd = self.command(variant, seed, run_dir)
        env = dict(
            os.environ,
            OMP_NUM_THREADS='1',
            MKL_NUM_THREADS='1',
            MPLBACKEND='Agg',
            PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
        )
        t0 = time.time()
        with open(osp.join(run_dir, 'train.log'), 'w') as log:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - t0
        if proc.returncode != 0:
            raise RuntimeError(
                f'{variant.name} seed {seed} failed (exit {proc.returncode}); '
                f'see {osp.join(run_dir, "train.log")}'
            )
        curves = read_scalars(
            run_dir, self.study.primary, self.study.train_scalars, self.study.fill
        )
        if not curves['val']:
            raise RuntimeError(
                f'{variant.name} seed {seed}: no validation record with '
                f'{self.study.primary!r} in {run_dir}'
            )
        rec = dict(
            variant=variant.name,
            seed=seed,
            run_dir=osp.relpath(run_dir, REPO),
            command=' '.join(cmd[1:]),
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            final=curves['val'][-1],
            **curves,
        )
        with open(result + '.tmp', 'w') as f:
            json.dump(rec, f)
        os.replace(result + '.tmp', result)  # an interrupted run leaves no result
        rec['cached'] = False
        return rec

    def run(self) -> List[dict]:
        """Every (variant, seed) pair, in the study's order; prints progress with an ETA."""
        pairs = [(v, s) for v in self.study.variants for s in self.study.seeds]
        for v, s in pairs:  # resolve every config up front: a broken one fails before training
            self.run_dir(v, s)
        total, done, trained, t0 = len(pairs), [0], [], time.time()

        def one(pair):
            rec = self.run_one(*pair)
            with self._lock:
                done[0] += 1
                if not rec['cached']:
                    trained.append(rec['wall_s'])
                elapsed = time.time() - t0
                left = total - done[0]
                eta = (sum(trained) / len(trained) * left / self.jobs) if trained else 0.0
                took = 'cached' if rec['cached'] else f'{rec["wall_s"]:.0f}s'
                print(
                    f'[{done[0]:3d}/{total}] {rec["variant"]:32s} seed {rec["seed"]}: '
                    f'{self.study.primary} '
                    f'{self.study.scale * rec["final"][self.study.primary]:6.2f}  {took}'
                    f' | elapsed {elapsed / 60:5.1f} min, ETA {eta / 60:5.1f} min',
                    flush=True,
                )
            return rec

        with ThreadPoolExecutor(self.jobs) as pool:
            futures = [pool.submit(one, p) for p in pairs]
        # every healthy run finishes (and is cached) before a failure is reported
        failed = [str(f.exception()) for f in futures if f.exception() is not None]
        if failed:
            raise RuntimeError(f'{len(failed)} of {total} runs failed:\n' + '\n'.join(failed))
        return [f.result() for f in futures]


def parse_args(study: Study, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=study.title)
    parser.add_argument('--jobs', type=int, default=2, help='runs in parallel (2 cores: 2)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='a few iterations per variant, one seed: checks the path',
    )
    parser.add_argument(
        '--variants',
        nargs='+',
        default=None,
        metavar='NAME',
        help='with --quick: only these variants (and their baselines)',
    )
    parser.add_argument(
        '--work-dir',
        default=None,
        help=f'runs folder (default work_dirs/studies/{study.name}[-quick])',
    )
    parser.add_argument(
        '--out-dir',
        default=None,
        help='report folder (default docs/results; with --quick the runs folder)',
    )
    parser.add_argument(
        '--replot',
        action='store_true',
        help="redraw the report's figure from its JSON (trains nothing, markdown unchanged)",
    )
    return parser.parse_args(argv)


def main(study: Study, script: str, argv: Optional[Sequence[str]] = None) -> str:
    """Run a study and write its report; returns the report's markdown (the figure's path
    with ``--replot``).

    Args:
        study (Study): The study.
        script (str): Path of the study's file (named in the report's command line).
        argv (Sequence[str], optional): Arguments; defaults to ``sys.argv[1:]``.
    """
    from tools.experiments.report import replot, write_report

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(study, argv)
    if args.variants and not args.quick:
        # a partial full run would overwrite the study's report with fewer arms
        raise SystemExit('--variants needs --quick')
    if args.quick:
        study = dataclasses.replace(study, seeds=study.seeds[:1])
    if args.variants:
        study = study.subset(args.variants)
    suffix = '-quick' if args.quick else ''
    work_dir = args.work_dir or osp.join(REPO, 'work_dirs', 'studies', study.name + suffix)
    out_dir = args.out_dir or (work_dir if args.quick else osp.join(REPO, 'docs', 'results'))
    if args.replot:
        return replot(study, out_dir)
    t0 = time.time()
    prepare = (study.quick_prepare or study.prepare) if args.quick else study.prepare
    if prepare is not None:
        prepare(study)
    runs = Runner(study, work_dir, args.jobs, args.quick).run()
    command = ' '.join(['python', osp.relpath(osp.abspath(script), REPO)] + argv)
    return write_report(
        study, runs, out_dir, command=command, wall_s=time.time() - t0, quick=args.quick
    )
