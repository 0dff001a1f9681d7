"""Evaluate a checkpoint with an mmdet / mmseg / mmpretrain config that uses mmext.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out metrics.json]
    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [args]

Prints the metrics; ``--out`` also writes them to a JSON file.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmext  # noqa: E402,F401
from mmext.utils.launch import (build_runner, common_args,  # noqa: E402
                                prepare_cfg, set_local_rank_env)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model with mmext')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    common_args(parser)
    args = parser.parse_args(argv)
    set_local_rank_env(args.local_rank)
    return args


def _jsonable(value):
    if hasattr(value, 'tolist'):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = prepare_cfg(
        args.config,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        load_from=args.checkpoint)
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(_jsonable(dict(metrics)), f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
