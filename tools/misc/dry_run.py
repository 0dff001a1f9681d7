"""Check a config on this machine before a cluster job: a CPU dry run on a fake dataset.

    python tools/misc/dry_run.py CONFIG [--cfg-options k=v ...] [--keep-dir DIR]

1. Writes a tiny fake copy of the config's dataset(s) in their real on-disk layout
   (:mod:`fake_datasets`: a few images per split, labels of the dataset's classes) into a fresh
   directory, and points the train/val/test dataloaders (through dataset wrappers) and the
   evaluators' ``ann_file`` at it. An existing dataset root is never touched. Files a config
   needs that mmext tools generate are generated the same way: the Focal configs' alpha base
   by ``tools/analysis/class_pixel_frequency.py`` (on the fake train split, into a copy of
   ``configs/``).
2. Shrinks the run (:mod:`dry_run_config`): pipeline and data-preprocessor sizes to ~32-256
   px, batch size <= 2, ``num_workers=0``, no pre-trained weights (nothing is downloaded),
   2 training iterations (an iteration-based loop) with one validation and a checkpoint.
3. Trains with ``tools/train.py`` and tests the checkpoint with ``tools/test.py`` (their
   ``main``, so mmext's checks run) on the CPU, with the config's mmext modules.

Prints a PASS/FAIL table: what was built (dataset classes and layout), the mmext modules of
the resolved config, the logged losses and metrics, seconds. Exit status 1 on a failure.
``--keep-dir DIR`` keeps the fake data, configs and work dirs there (DIR must not exist or be
empty); by default they go to a temporary directory that is removed at the end.
"""

import argparse
import contextlib
import glob
import importlib.util
import json
import os
import os.path as osp
import runpy
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np

if not __package__:  # python tools/misc/dry_run.py, not -m: tools/_bootstrap.py
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))

from tools import REPO  # noqa: E402
from tools.misc import dry_run_config, fake_datasets  # noqa: E402

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
ENV_KEYS = ('CUDA_VISIBLE_DEVICES', 'MMEXT_DEVICE', 'MMEXT_CACHE_DIR', 'LOCAL_RANK')


@dataclass
class Step:
    """One row of the table."""

    name: str
    ok: Optional[bool] = None  # None: not run
    seconds: float = 0.0
    detail: str = ''
    error: str = ''


@dataclass
class Report:
    """The outcome of :func:`dry_run`."""

    config: str
    root: str
    steps: List[Step] = field(default_factory=list)
    modules: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """bool: every step passed."""
        return bool(self.steps) and all(s.ok for s in self.steps)

    def table(self) -> str:
        """The PASS/FAIL table (one line per step, then modules and notes)."""
        lines = [f'dry run of {self.config} (in {self.root})']
        for s in self.steps:
            state = {True: 'PASS', False: 'FAIL', None: 'SKIP'}[s.ok]
            lines.append(f'  {s.name:<6} {state}  {s.seconds:6.1f}s  {s.detail}')
            if s.error:
                lines.append(f'         {s.error}')
        lines.append(f'  mmext modules: {", ".join(self.modules) or "none"}')
        lines += [f'  note: {n}' for n in self.notes]
        return '\n'.join(lines)


def _script(relpath: str):
    """Import a script of the repository (``tools/train.py``) as a module."""
    path = osp.join(REPO, relpath)
    spec = importlib.util.spec_from_file_location(f'_dry_run_{osp.basename(path)[:-3]}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def fake_checksums(fake_root: str) -> Iterator[None]:
    """Let mmpretrain's CIFAR accept the fake pickles under ``fake_root``: they cannot match
    the md5 sums of the real archives (files elsewhere are still checked)."""
    from mmpretrain.datasets import cifar

    real = cifar.check_md5

    def check_md5(fpath, md5, **kwargs):
        if osp.abspath(fpath).startswith(osp.abspath(fake_root) + os.sep):
            return True
        return real(fpath, md5, **kwargs)

    cifar.check_md5 = check_md5
    try:
        yield
    finally:
        cifar.check_md5 = real


@contextlib.contextmanager
def _run_env(root: str) -> Iterator[None]:
    """Class-index caches under ``root``; the environment restored afterwards."""
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    os.environ['MMEXT_CACHE_DIR'] = osp.join(root, 'class_index_cache')
    try:
        with fake_checksums(root):
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def prepare_root(keep_dir: Optional[str]) -> str:
    """The directory of the run: ``keep_dir`` (created; refused if non-empty) or a fresh one.

    Raises:
        FileExistsError: ``keep_dir`` exists and is not an empty directory.
    """
    if keep_dir is None:
        return tempfile.mkdtemp(prefix='mmext_dry_run_')
    if osp.exists(keep_dir) and (not osp.isdir(keep_dir) or os.listdir(keep_dir)):
        raise FileExistsError(
            f'--keep-dir {keep_dir} exists and is not empty: the dry run writes only into a '
            'new or empty directory'
        )
    os.makedirs(keep_dir, exist_ok=True)
    return osp.abspath(keep_dir)


def _configs_root(config: str) -> str:
    """The ``configs/`` folder above ``config`` (else the config's own folder)."""
    path = osp.dirname(osp.abspath(config))
    while osp.basename(path) != 'configs' and osp.dirname(path) != path:
        path = osp.dirname(path)
    return path if osp.basename(path) == 'configs' else osp.dirname(osp.abspath(config))


def _point_at_fake_data(cfg, fake_root: str, rng) -> List[str]:
    """Point every dataloader (and the evaluators' ``ann_file``) at ``fake_root``; write the
    files. Returns one description per dataloader."""
    built = []
    for key in DATALOADERS:
        loader = cfg.get(key)
        if not loader:
            continue
        what = dry_run_config.point_and_write(loader['dataset'], fake_root, key.split('_')[0], rng)
        built.append(f'{key.split("_")[0]}: {what}')
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(key) or []
        for ev in evaluators if isinstance(evaluators, list) else [evaluators]:
            if isinstance(ev.get('ann_file'), str):
                ev['ann_file'] = fake_datasets.rebase(ev['ann_file'], fake_root)
    return built


def _generated_base(config: str, missing: str, root: str, fake_root: str, notes: List[str]):
    """Write a config base that an mmext tool generates (the Focal alpha) into a copy of
    ``configs/``; returns the config path in the copy. Other missing files re-raise."""
    from mmengine.config import Config

    if not osp.basename(missing).startswith('focal_alpha_'):
        raise FileNotFoundError(f'{config} needs {missing}, which does not exist')
    src = _configs_root(config)
    copy = osp.join(root, 'configs')
    if not osp.isdir(copy):
        shutil.copytree(src, copy)
    config_copy = osp.join(copy, osp.relpath(osp.abspath(config), src))
    out_base = osp.join(copy, osp.relpath(osp.normpath(missing), src))
    # the config's first base (the MCCE config it modifies) holds the dataset to count
    bases = [
        osp.normpath(osp.join(osp.dirname(config_copy), b))
        for b in Config._get_base_files(config_copy)
        if '::' not in b
    ]
    source = next(b for b in bases if b != out_base)
    cfg = Config.fromfile(source)
    _point_at_fake_data(cfg, fake_root, np.random.default_rng(0))
    dumped = osp.join(root, 'class_pixel_frequency_source.py')
    cfg.dump(dumped)
    tool = _script('tools/analysis/class_pixel_frequency.py')
    tool.main([dumped, '--out-base', out_base, '--num-workers', '1'])
    notes.append(
        f'{osp.basename(out_base)} written by tools/analysis/class_pixel_frequency.py from '
        f'the fake train split of {osp.basename(source)}'
    )
    return config_copy


def load_config(config: str, root: str, fake_root: str, notes: List[str]):
    """``Config.fromfile``, generating a missing tool-written base first (Focal alpha)."""
    from mmengine.config import Config

    try:
        return Config.fromfile(config)
    except FileNotFoundError as e:
        missing = e.filename or str(e).rsplit(': ', 1)[-1].strip("'")
        return Config.fromfile(_generated_base(config, missing, root, fake_root, notes))


def _mmext_types(node, out: set) -> set:
    if isinstance(node, dict):
        if isinstance(node.get('type'), str) and node['type'].startswith('mmext.'):
            out.add(node['type'])
        for v in node.values():
            _mmext_types(v, out)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _mmext_types(v, out)
    return out


def _scalars(work_dir: str) -> List[dict]:
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def _close_logs(*names: str) -> None:
    """Close the log files of the runs ``names`` (many dry runs may share one process)."""
    from mmengine.logging import MMLogger

    for name in names:
        if MMLogger.check_instance_created(name):
            for handler in MMLogger.get_instance(name).handlers:
                handler.close()


def _timed(step: Step, fn):
    start = time.time()
    try:
        result = fn()
        step.ok = True
        return result
    except (Exception, SystemExit) as e:  # noqa: BLE001  (reported in the table)
        step.ok = False
        step.error = f'{type(e).__name__}: {" ".join(str(e).split())}'[:400]
        traceback.print_exc()
        return None
    finally:
        step.seconds = time.time() - start


def dry_run(
    config: str, cfg_options: Optional[Dict] = None, keep_dir: Optional[str] = None
) -> Report:
    """Dry-run ``config`` (see the module docstring).

    Args:
        config (str): The config file.
        cfg_options (dict, optional): ``--cfg-options`` applied before the dry-run settings.
        keep_dir (str, optional): Keep everything in this new or empty directory.

    Returns:
        Report: The steps (``data``, ``train``, ``test``), mmext modules and notes.

    Raises:
        FileExistsError: ``keep_dir`` is not empty.
    """
    root = prepare_root(keep_dir)
    report = Report(config=config, root=root)
    data, train, test = Step('data'), Step('train'), Step('test')
    report.steps = [data, train, test]
    fake_root = osp.join(root, 'fake_data')
    tag = f'{osp.splitext(osp.basename(config))[0]}_{os.getpid()}_{int(time.time() * 1e3)}'
    try:
        with _run_env(root):
            cfg = _timed(data, lambda: _prepare(config, cfg_options, root, fake_root, report))
            if cfg is None:
                return report
            train_cfg, test_cfg = (
                osp.join(root, 'train_config.py'),
                osp.join(root, 'test_config.py'),
            )
            for path, run in ((train_cfg, 'train'), (test_cfg, 'test')):
                # unique names: mmengine keeps loggers and visualizers per name in the process
                cfg.experiment_name = f'dry_run_{run}_{tag}'
                if cfg.get('visualizer'):
                    cfg.visualizer.name = cfg.experiment_name
                cfg.dump(path)
            work_dir = osp.join(root, 'work_dir')
            args = ['--work-dir', work_dir, '--device', 'cpu']
            _timed(train, lambda: _script('tools/train.py').main([train_cfg, *args]))
            _close_logs(f'dry_run_train_{tag}')
            rows = _scalars(work_dir)
            losses = sorted({k for r in rows for k in r if 'loss' in k})
            vals = [r for r in rows if 'lr' not in r and not any('loss' in k for k in r)]
            train.detail = (
                f'{sum("lr" in r for r in rows)} iterations + {len(vals)} validation; '
                f'logged: {", ".join(losses)}'
            )
            if not train.ok:
                return report
            with open(osp.join(work_dir, 'last_checkpoint')) as f:
                ckpt = f.read().strip()
            out = osp.join(root, 'test_metrics.json')
            test_args = [test_cfg, ckpt, *args, '--out', out]
            metrics = _timed(test, lambda: _script('tools/test.py').main(test_args))
            _close_logs(f'dry_run_test_{tag}')
            shown = [f'{k}={v:.3g}' for k, v in (metrics or {}).items() if isinstance(v, float)]
            shown = shown[:3] + ['...'] * (len(shown) > 3)
            test.detail = f'tools/test.py {osp.basename(ckpt)}: ' + (
                ', '.join(shown) or 'no metric'
            )
    finally:
        if keep_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _prepare(config: str, cfg_options, root: str, fake_root: str, report: Report):
    """Load, point at fake data, shrink: the config the train and test tools run."""
    from mmext.apis.run_checks import check_cfg_options

    cfg = load_config(config, root, fake_root, report.notes)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    built = _point_at_fake_data(cfg, fake_root, np.random.default_rng(0))
    report.steps[0].detail = ' | '.join(built)
    report.notes += dry_run_config.shrink(cfg)
    report.modules = sorted(_mmext_types(cfg.to_dict(), set()))
    return cfg


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv``; default ``sys.argv[1:]``)."""
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override settings, key=value'
    )
    parser.add_argument(
        '--keep-dir', help='keep the fake data, configs and work dirs in this new/empty dir'
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the dry run of ``argv``'s config, print the table; return the exit status."""
    args = parse_args(argv)
    try:
        report = dry_run(args.config, args.cfg_options, args.keep_dir)
    except FileExistsError as e:
        print(f'dry run refused: {e}', file=sys.stderr)
        return 2
    print(report.table())
    print('PASS' if report.ok else 'FAIL')
    return 0 if report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
