"""Train a model from an mmdet / mmseg / mmpretrain config that uses mmext.

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp] [--cfg-options k=v ...]
    bash tools/dist_train.sh CONFIG NUM_PROCS [args]      # torchrun; gloo on CPU, NCCL on GPU

Same interface as mmseg's/mmdet's ``tools/train.py``; the CPU-distributed fixes of
:mod:`mmext.utils.launch` are applied when no GPU is present.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmext  # noqa: E402,F401  (compat shims + registration)
from mmext.utils.launch import (build_runner, common_args,  # noqa: E402
                                prepare_cfg, set_local_rank_env)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with mmext')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision (bfloat16 autocast on CPU)')
    common_args(parser)
    args = parser.parse_args(argv)
    set_local_rank_env(args.local_rank)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = prepare_cfg(
        args.config,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        amp=args.amp,
        resume=args.resume)
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
