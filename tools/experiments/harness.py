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
  the run folders; markdown and JSON unchanged);
* one harness per study: the runs folder's lock file ``.harness.lock`` (``flock``, holding
  the harness's PID) makes a second harness of the same study refuse to start (naming the
  PID), instead of training beside the first and deleting its unfinished run folders; the
  training runs inherit the lock, so runs a killed (SIGKILL) harness left behind keep it too.
  A lock whose holder is gone is taken over with a warning;
* SIGINT (Ctrl-C) and SIGTERM stop the study: each run is its own process group (its data
  loader workers included), the signal is forwarded to every running one, no queued run
  starts, runs still alive after ``stop_grace_s`` (30 s; at once on a second signal) are
  killed, a run that finishes meanwhile is recorded (``run.json``), and the harness exits
  with ``128 + signal`` and a one-line message (no traceback). A rerun resumes.

The statistics are :mod:`tools.experiments.stats`, the report :mod:`tools.experiments.report`.

    python tools/experiments/<study>.py [--jobs 2] [--quick] [--replot]
"""

import argparse
import contextlib
import dataclasses
import glob
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

try:
    import fcntl
except ImportError:  # pragma: no cover  (non-POSIX platforms: no lock)
    fcntl = None

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
        paper_effect (float, optional): The paper's own effect size for this comparison, in
            the metric's units as the report shows them (e.g. ``+1.82`` mAP points), signed
            as the paper reports it. With it, the report shows it beside the smallest effect
            the study can detect, and an interval that contains 0 and is wider than the
            paper's effect gives the verdict "below this proxy's resolution" instead of
            "inconclusive" (:func:`tools.experiments.stats.verdict`). Defaults to none (the
            verdict ignores the paper's effect size).
        paper_source (str): Where ``paper_effect`` comes from (e.g. ``'Table 3, + cosine'``),
            shown in the report. Defaults to ``''``.
    """

    name: str
    method: str
    baseline: str
    metric: str
    direction: int = 1
    paper_effect: Optional[float] = None
    paper_source: str = ''


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
        long_schedule (Tuple[str, ...]): ``--cfg-options`` of twice the schedule (added after
            ``schedule`` and the baseline's own options), for the schedule-length check
            (:meth:`length_variant`): every baseline also trains at 2x, on the first seed and,
            when that seed's final ``primary`` moves by more than ``converge_tol / 2``, on
            every seed; a baseline is converged when the 2x run's final ``primary`` is within
            ``converge_tol`` of the schedule's (mean over the 2x seeds). A failed baseline
            withholds every verdict (the report says so at its top). Empty (the default): no
            length check; the last-interval gain of the curves decides instead.
        withhold (Callable, optional): ``withhold(study, runs) -> {claim name: reason}``:
            claims that get no verdict whatever their interval (e.g. an arm without parity
            to a reference implementation). Defaults to none.
        reference (str): The study's ``REFERENCE`` block: the authors' released recipe it
            follows (paper section or the authors' repository file) and every deliberate
            difference with its reason. The report prints it as its ``## Reference recipe``
            section; a study without one gets a warning there (and a Python warning).
            Defaults to ``''``.
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
    long_schedule: Tuple[str, ...] = ()
    withhold: Optional[Callable[['Study', List[dict]], Dict[str, str]]] = None
    reference: str = ''

    #: suffix of the name of a baseline's 2x-schedule arm (:meth:`length_variant`)
    LONG_SUFFIX = ' (2x schedule)'

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

    def length_variant(self, baseline: str) -> Variant:
        """The 2x-schedule arm of ``baseline`` for the schedule-length check.

        Same config and group, options ``baseline's options + long_schedule`` (so its cache
        key differs from the baseline's), no baseline of its own.

        Args:
            baseline (str): Name of one of :attr:`baselines`.

        Returns:
            Variant: ``<baseline> (2x schedule)``.
        """
        v = self.variant(baseline)
        return dataclasses.replace(
            v,
            name=v.name + self.LONG_SUFFIX,
            options=tuple(v.options) + tuple(self.long_schedule),
            baseline=None,
        )

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


#: name of the lock file in a study's runs folder (see :class:`StudyLock`)
LOCK_NAME = '.harness.lock'
#: seconds the runs get to end after a forwarded SIGINT / SIGTERM before they are killed
STOP_GRACE_S = 30.0


class StudyLocked(RuntimeError):
    """Another harness (or the runs a killed harness left) holds the study's lock file."""


class StudyInterrupted(RuntimeError):
    """The harness got SIGINT or SIGTERM and stopped the study (or one of its runs).

    Args:
        message (str): What was stopped.
        signum (int): The signal.
        started (bool): For one run: whether its training had started. Defaults to False.
    """

    def __init__(self, message: str, signum: int, started: bool = False) -> None:
        super().__init__(message)
        self.signum = signum
        self.started = started


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f'signal {signum}'


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs (signal 0 probes it; a zombie does not run)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by another user
        pass
    try:  # a killed process stays a zombie until its parent (maybe none in a container) reaps it
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except (OSError, IndexError):
        return True


def _signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to process group ``pgid``; a group that is gone is ignored."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class StudyLock:
    """Exclusive lock of a study's runs folder: ``<work_dir>/.harness.lock`` (``flock``).

    The file holds the holder's PID on its first line and the process groups of its running
    trainings on a ``runs:`` line. The lock is an ``flock`` on the open file, which the
    kernel drops when every process holding it has exited: the harness passes it on to its
    runs, so runs left behind by a harness killed with SIGKILL keep the study locked. A
    lock file naming a PID that holds no lock any more (a dead harness) is stale and taken
    over with a warning.

    Args:
        work_dir (str): The study's runs folder (created if missing).
    """

    def __init__(self, work_dir: str) -> None:
        self.path = osp.join(work_dir, LOCK_NAME)
        self.fd: Optional[int] = None

    def _read(self, fd: int) -> Tuple[Optional[int], List[int]]:
        """``(pid, run process groups)`` written in the lock file (None, [] if unreadable)."""
        try:
            lines = os.pread(fd, 4096, 0).decode('ascii', 'replace').splitlines()
        except OSError:
            return None, []
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        groups = [
            int(g)
            for line in lines[1:]
            if line.startswith('runs:')
            for g in line.split(':', 1)[1].split()
            if g.isdigit()
        ]
        return pid, groups

    def acquire(self) -> 'StudyLock':
        """Take the lock and write this process's PID into the file.

        Returns:
            StudyLock: self.

        Raises:
            StudyLocked: If another process holds the lock; names the file and the PID.
        """
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StudyLocked(self._held_message(*self._read(fd))) from None
            pid, _ = self._read(fd)
            if pid is not None and pid != os.getpid():
                state = 'still runs but does not hold it' if _pid_alive(pid) else 'is gone'
                warnings.warn(
                    f'{self.path}: taking over the stale lock of PID {pid} (that process '
                    f'{state}); its unfinished runs are started afresh',
                    RuntimeWarning,
                    stacklevel=2,
                )
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.write()
        return self

    def _held_message(self, pid: Optional[int], groups: List[int]) -> str:
        who = f'PID {pid}' if pid is not None else 'an unknown process'
        if pid is None or _pid_alive(pid):
            return (
                f'{self.path} is held by {who}: another harness is running this study; '
                f'wait for it or stop it (kill {pid if pid is not None else "<pid>"}) first'
            )
        runs = ' '.join(f'-{g}' for g in groups) or '-<pgid>'
        return (
            f'{self.path} is held by the training runs of {who}, a harness that is gone '
            f'(killed): end them first (kill -TERM -- {runs})'
        )

    def write(self, groups: Sequence[int] = ()) -> None:
        """Rewrite the file: this PID, then the process groups of the running trainings."""
        if self.fd is None:
            return
        text = f'{os.getpid()}\n' + (f'runs: {" ".join(map(str, groups))}\n' if groups else '')
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text.encode('ascii'), 0)

    def release(self) -> None:
        """Empty the file and drop the lock (the file stays: removing it would race)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.ftruncate(fd, 0)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> 'StudyLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class Runner:
    """Runs a study's (variant, seed) pairs; see the module docstring.

    Args:
        study (Study): The study.
        work_dir (str): Its runs folder.
        jobs (int): Runs in parallel. Defaults to 1.
        quick (bool): The ``--quick`` options and folder. Defaults to False.
        stop_grace_s (float): Seconds the runs get to end after a forwarded SIGINT /
            SIGTERM before they are killed. Defaults to :data:`STOP_GRACE_S`.
    """

    def __init__(
        self,
        study: Study,
        work_dir: str,
        jobs: int = 1,
        quick: bool = False,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        self.study = study
        self.work_dir = work_dir
        self.jobs = max(1, int(jobs))
        self.quick = quick
        self.stop_grace_s = float(stop_grace_s)
        self._lock = threading.Lock()
        self._digests: Dict[str, str] = {}
        # the running trainings (process group -> run) and the signal that stops the study;
        # an RLock: the signal handler takes it in the main thread, possibly nested
        self._procs_lock = threading.RLock()
        self._children: Dict[int, str] = {}
        self._stop_signal: Optional[int] = None
        self._killer: Optional[threading.Timer] = None
        self._study_lock: Optional[StudyLock] = None
        self._holds = 0
        self._running = False

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the study's lock file and stop the study on SIGINT / SIGTERM (reentrant).

        While held, the signals are handled (in the main thread only) by forwarding them to
        the running trainings (see the module docstring); outside :meth:`run` (e.g. during
        the study's ``prepare``) they raise :class:`StudyInterrupted` at once.

        Raises:
            StudyLocked: If another harness holds the lock.
        """
        if self._holds:
            self._holds += 1
            try:
                yield
            finally:
                self._holds -= 1
            return
        lock = StudyLock(self.work_dir).acquire()
        previous = {}
        try:
            if threading.current_thread() is threading.main_thread():
                for signum in (signal.SIGINT, signal.SIGTERM):
                    previous[signum] = signal.signal(signum, self._on_signal)
            self._study_lock, self._holds, self._stop_signal = lock, 1, None
            yield
        finally:
            self._holds = 0
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self._killer is not None:
                self._killer.cancel()
                self._killer = None
            self._study_lock = None
            lock.release()

    def _on_signal(self, signum: int, frame) -> None:
        """Stop the study: forward ``signum`` to the runs, launch no more, kill them later."""
        first = self._stop_signal is None
        if first:
            self._stop_signal = signum
        with self._procs_lock:
            groups = list(self._children)
        # a second signal kills at once; the first gives the runs stop_grace_s to end
        for pgid in groups:
            _signal_group(pgid, signum if first else signal.SIGKILL)
        if not self._running:
            raise StudyInterrupted(f'interrupted by {_signal_name(signum)}', signum)
        if first:
            with contextlib.suppress(Exception):  # never fail in the handler
                print(
                    f'harness: got {_signal_name(signum)}: stopping {len(groups)} running '
                    f'run(s) (killed after {self.stop_grace_s:g} s), starting no more',
                    file=sys.stderr,
                    flush=True,
                )
            self._killer = threading.Timer(self.stop_grace_s, self._kill_children)
            self._killer.daemon = True
            self._killer.start()

    def _kill_children(self) -> None:
        """SIGKILL the process group of every training still running."""
        with self._procs_lock:
            for pgid in list(self._children):
                _signal_group(pgid, signal.SIGKILL)

    def _check_not_stopped(self, variant: Variant, seed: int) -> None:
        if self._stop_signal is not None:
            raise StudyInterrupted(
                f'{variant.name} seed {seed}: not started', self._stop_signal, started=False
            )

    def _record_children(self) -> None:
        """Write the running trainings' process groups into the lock file."""
        if self._study_lock is not None:
            with contextlib.suppress(OSError):
                self._study_lock.write(sorted(self._children))

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
        """Train one (variant, seed) unless its ``run.json`` exists; returns the record.

        The training runs in its own process group, registered for :meth:`_on_signal`.

        Raises:
            StudyInterrupted: If the study was stopped before or while it trained (a
                training that still ends successfully is recorded).
            RuntimeError: If the training failed.
        """
        self._check_not_stopped(variant, seed)
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
        lock_fd = None if self._study_lock is None else self._study_lock.fd
        with open(osp.join(run_dir, 'train.log'), 'w') as log:
            with self._procs_lock:  # the signal handler sees every launched training
                self._check_not_stopped(variant, seed)
                proc = subprocess.Popen(
                    cmd,
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: signalled as one
                    pass_fds=() if lock_fd is None else (lock_fd,),  # it keeps the study locked
                )
                self._children[proc.pid] = f'{variant.name} seed {seed}'
                self._record_children()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                with self._procs_lock:
                    self._children.pop(proc.pid, None)
                    self._record_children()
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - t0
        if proc.returncode != 0 and self._stop_signal is not None:
            raise StudyInterrupted(
                f'{variant.name} seed {seed}: stopped (exit {proc.returncode})',
                self._stop_signal,
                started=True,
            )
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
        """Every (variant, seed) pair, in the study's order; prints progress with an ETA.

        Holds the study's lock (:meth:`hold`) meanwhile.

        Returns:
            list[dict]: The records, in the study's order.

        Raises:
            StudyLocked: If another harness runs the study.
            StudyInterrupted: After SIGINT / SIGTERM, once every started training has ended
                (the finished ones recorded); says how many runs finished.
            RuntimeError: If runs failed (after every healthy run finished).
        """
        with self.hold():
            self._running = True
            try:
                return self._run()
            finally:
                self._running = False

    def _run(self) -> List[dict]:
        """Every (variant, seed) pair; with ``long_schedule`` the length check first.

        Without ``long_schedule``: the pairs in the study's order. With it, one group per
        baseline (the baseline and the arms compared with it, in the study's order; arms of
        no baseline last): the baseline's runs and its 2x run of the first seed train first,
        then the other seeds' 2x runs when that seed moved by more than half the tolerance,
        together with the group's arms; so each baseline's length check is complete before
        its arms are read (see :class:`Study`).

        Returns:
            list[dict]: The records in the study's order, then the 2x runs.
        """
        study = self.study
        pairs = [(v, s) for v in study.variants for s in study.seeds]
        longs = {b: study.length_variant(b) for b in study.baselines} if study.long_schedule else {}
        for v, s in pairs + [(v, s) for v in longs.values() for s in study.seeds]:
            self.run_dir(v, s)  # resolve every config up front: a broken one fails early
        if not longs:
            return self._run_pairs(pairs, len(pairs))
        groups: Dict[Optional[str], List[Variant]] = {}
        for v in study.variants:
            owner = v.name
            while owner is not None and owner not in longs:
                owner = study.variant(owner).baseline
            groups.setdefault(owner, []).append(v)
        groups = {k: g for k, g in groups.items() if k is not None} | (
            {None: groups[None]} if None in groups else {}
        )
        seeds = study.seeds
        total = len(pairs) + len(longs)
        progress = dict(done=0, total=total)
        records, failures = [], []
        for base, members in groups.items():
            if base is None:
                first, rest = [], [(v, s) for v in members for s in seeds]
            else:
                first = [(study.variant(base), s) for s in seeds] + [(longs[base], seeds[0])]
                rest = [(v, s) for v in members if v.name != base for s in seeds]
            recs, failed = self._run_pairs(first, total, progress=progress) if first else ([], [])
            final = {
                (r['variant'], r['seed']): study.scale * r['final'][study.primary] for r in recs
            }
            if (
                base is not None
                and (longs[base].name, seeds[0]) in final
                and (base, seeds[0]) in final
            ):
                moved = abs(final[(longs[base].name, seeds[0])] - final[(base, seeds[0])])
                if moved > study.converge_tol / 2 and len(seeds) > 1:
                    print(
                        f'length check: {base} moved by {moved:.2f} > {study.converge_tol / 2:g} '
                        f'at 2x on seed {seeds[0]}: its other seeds train at 2x too',
                        flush=True,
                    )
                    rest = [(longs[base], s) for s in seeds[1:]] + rest
                    progress['total'] += len(seeds) - 1
            more, failed_more = self._run_pairs(rest, total, progress=progress)
            records += recs + more
            failures += failed + failed_more
        if failures:
            n = progress['total']
            raise RuntimeError(f'{len(failures)} of {n} runs failed:\n' + '\n'.join(failures))
        order = {(v.name, s): i for i, (v, s) in enumerate(pairs)}
        main = sorted(
            (r for r in records if (r['variant'], r['seed']) in order),
            key=lambda r: order[(r['variant'], r['seed'])],
        )
        return main + [r for r in records if (r['variant'], r['seed']) not in order]

    def _run_pairs(
        self,
        pairs: List[Tuple[Variant, int]],
        total: int,
        progress: Optional[dict] = None,
    ):
        """Train (or read from the cache) ``pairs``; progress lines count up to ``total``.

        Args:
            pairs (list): ``(variant, seed)`` pairs.
            total (int): Runs counted by the progress lines (without ``progress``).
            progress (dict, optional): ``done`` / ``total`` shared by several calls (one
                count over the batches of the length check). With it, failures are
                returned, not raised.

        Returns:
            list[dict] | tuple: The records; with ``progress``, ``(records of the healthy
            runs, failure messages)``.

        Raises:
            StudyInterrupted: After SIGINT / SIGTERM.
            RuntimeError: Without ``progress``, if runs failed (after every healthy run).
        """
        shared = progress is not None
        progress = progress if shared else dict(done=0, total=total)
        trained, t0 = [], time.time()

        def one(pair):
            rec = self.run_one(*pair)
            with self._lock:
                progress['done'] += 1
                done = [progress['done']]
                total = progress['total']
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
        errors = [f.exception() for f in futures]
        if self._stop_signal is not None:
            stopped = [e for e in errors if isinstance(e, StudyInterrupted)]
            started = sum(e.started for e in stopped)
            failed = sum(e is not None and not isinstance(e, StudyInterrupted) for e in errors)
            raise StudyInterrupted(
                f'interrupted by {_signal_name(self._stop_signal)}: '
                f'{errors.count(None)} of {total} runs finished (recorded), {started} stopped, '
                f'{len(stopped) - started} not started'
                + (f', {failed} failed' if failed else '')
                + '; rerun to resume',
                self._stop_signal,
            )
        # every healthy run finishes (and is cached) before a failure is reported
        failed = [str(e) for e in errors if e is not None]
        if shared:
            return [f.result() for f in futures if f.exception() is None], failed
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
    parser.add_argument(
        '--rereport',
        action='store_true',
        help="rewrite the report's markdown from its JSON with this commit's report code "
        '(trains nothing; arms defined since are left out)',
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
    from tools.experiments.report import replot, rereport, write_report

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
    if args.rereport:
        command = ' '.join(['python', osp.relpath(osp.abspath(script), REPO)] + argv)
        return rereport(study, out_dir, command)
    t0 = time.time()
    prepare = (study.quick_prepare or study.prepare) if args.quick else study.prepare
    runner = Runner(study, work_dir, args.jobs, args.quick)
    try:
        with runner.hold():  # one harness per study, from the preparation to the report
            if prepare is not None:
                prepare(study)
            runs = runner.run()
            command = ' '.join(['python', osp.relpath(osp.abspath(script), REPO)] + argv)
            return write_report(
                study, runs, out_dir, command=command, wall_s=time.time() - t0, quick=args.quick
            )
    except StudyLocked as err:
        raise SystemExit(f'{study.name}: {err}') from None
    except (StudyInterrupted, KeyboardInterrupt) as err:
        signum = getattr(err, 'signum', signal.SIGINT)
        msg = str(err) if isinstance(err, StudyInterrupted) else 'interrupted by SIGINT'
        print(f'{study.name}: {msg}', file=sys.stderr, flush=True)
        raise SystemExit(128 + signum) from None
