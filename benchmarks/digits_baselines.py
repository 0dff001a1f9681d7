"""Train the tiny digits baseline configs and record their wall time and final metrics.

    python benchmarks/digits_baselines.py                     # every config in configs/digits
    python benchmarks/digits_baselines.py \
        --configs configs/digits/resnet-tiny_1xb32-1k_digits-cls.py
    python benchmarks/digits_baselines.py --quick             # 1/10 of the iterations

Each config is trained with MMEngine's ``Runner.from_cfg`` (no launcher, CPU when no GPU)
from the repository root, so the datasets are built under ``./data/digits_*`` (timed
separately: the first call builds, later calls reuse the cache). Writes
``benchmarks/results/digits_baselines.json`` and ``.md`` (``*_quick`` with ``--quick``).
Run with ``OMP_NUM_THREADS`` set to the cores you mean to use.
"""

import argparse
import glob
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.registry import DATASETS, init_default_scope
from mmengine.runner import Runner
from timing import REPO, command_line, write_results

import mmext  # noqa: F401  (registration)


class _KeepMetrics(Hook):
    """Remembers the metrics of the last validation."""

    def __init__(self) -> None:
        self.metrics: Dict[str, float] = {}

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self.metrics = dict(metrics or {})


def _scale_iters(cfg: Config, factor: float) -> None:
    """Shorten an iteration-based schedule (and its schedulers) by ``factor``."""
    max_iters = max(2, int(cfg.train_cfg.max_iters * factor))
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    for scheduler in cfg.param_scheduler:
        for key in ('begin', 'end', 'T_max'):
            if key in scheduler:
                scheduler[key] = min(max_iters, max(1, int(scheduler[key] * factor)))


def run_one(config: str, work_root: str, factor: float, cfg_options: Optional[dict] = None) -> dict:
    """Build the config's datasets, train it and return timings and final metrics.

    Args:
        config (str): Config path.
        work_root (str): Parent of the work directories.
        factor (float): Fraction of the schedule to run.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        dict: ``config``, ``build_s`` (datasets), ``train_s`` (wall time of training +
        validations), ``cpu_s`` (CPU time of the main process during it), ``max_iters``,
        ``threads``, ``load_avg`` (1-min load average at the end) and the final
        ``metrics``.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    name = osp.splitext(osp.basename(config))[0]
    cfg.work_dir = osp.join(work_root, name)
    cfg.launcher = 'none'
    if factor != 1:
        _scale_iters(cfg, factor)
    init_default_scope(cfg.default_scope)
    start = time.perf_counter()
    for loader in ('train_dataloader', 'val_dataloader'):
        DATASETS.build(dict(cfg[loader].dataset, lazy_init=True))
    build_s = time.perf_counter() - start
    keep = _KeepMetrics()
    cpu_start = time.process_time()  # this process, not its loader workers
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(keep, priority='LOWEST')
    runner.train()
    train_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    return dict(
        config=osp.relpath(config, REPO),
        build_s=round(build_s, 1),
        train_s=round(train_s, 1),
        cpu_s=round(cpu_s, 1),
        max_iters=cfg.train_cfg.max_iters,
        threads=torch.get_num_threads(),
        load_avg=round(os.getloadavg()[0], 1),
        metrics={
            k: round(float(v), 4)
            for k, v in keep.metrics.items()
            if isinstance(v, (int, float, np.number))
        },
    )


def _markdown(rows: List[dict], command: str) -> str:
    lines = [
        f'Written by `{command}` (one run of each config, the seed of the config).',
        '',
        '| config | iters | threads | load avg | data build (s) | train + val (s) | '
        'CPU (s) | metrics |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        metrics = ', '.join(f'{k}={v}' for k, v in row['metrics'].items())
        lines.append(
            f'| `{row["config"]}` | {row["max_iters"]} | {row["threads"]} | '
            f'{row["load_avg"]} | {row["build_s"]} | {row["train_s"]} | '
            f'{row["cpu_s"]} | {metrics} |'
        )
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--configs', nargs='*', default=None)
    parser.add_argument('--quick', action='store_true', help='train 1/10 of each schedule')
    parser.add_argument('--work-root', default='/tmp/mmext_digits_baselines')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every config, key=value',
    )
    parser.add_argument('--out', default=osp.join(REPO, 'benchmarks', 'results'))
    args = parser.parse_args(argv)
    command = command_line(None if argv is None else [__file__, *argv])  # before the chdir
    os.chdir(REPO)
    configs = args.configs or sorted(glob.glob(osp.join(REPO, 'configs', 'digits', '*.py')))
    rows = []
    for config in configs:
        row = run_one(
            osp.abspath(config), args.work_root, 0.1 if args.quick else 1, args.cfg_options
        )
        if args.cfg_options:
            row['cfg_options'] = args.cfg_options
        print(json.dumps(row), flush=True)
        rows.append(row)
    write_results(
        'digits_baselines' + ('_quick' if args.quick else ''),
        rows,
        _markdown(rows, command),
        result_dir=args.out,
        indent=1,
    )
    print(_markdown(rows, command))


if __name__ == '__main__':
    main()
