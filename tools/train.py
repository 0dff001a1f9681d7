"""Train a model from an mmdet / mmseg / mmpretrain config that uses mmext.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                                 [--cfg-options k=v ...]
    bash tools/dist_train.sh CONFIG NUM_PROCS [args]      # torchrun; gloo on CPU, NCCL on GPU

Same interface as mmdet's ``tools/train.py`` (mmseg's has ``--resume`` without a path); the
CPU-distributed fixes of :mod:`mmext.apis.launch` are applied when no GPU is present.

``--resume`` alone resumes from the latest checkpoint of the work dir (with
``mmext.SafeCheckpointHook``: the newest intact one); ``--resume CKPT`` from that file. Put a
bare ``--resume`` after CONFIG (``nargs='?'`` would take CONFIG as the checkpoint).
``--auto-scale-lr`` scales the learning rate by ``world_size * batch_size / base_batch_size``
of the config's ``auto_scale_lr``.
"""

import argparse
from typing import List, Optional

import mmext  # noqa: F401  (compat shims + registration)
from mmext.apis.launch import build_runner, common_args, prepare_cfg, set_local_rank_env
from mmext.apis.run_checks import check_checkpoints


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv``; default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Train a model with mmext')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint file; without a path, from the latest (intact) '
        'checkpoint in the work_dir',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision (bfloat16 autocast on CPU)',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the ratio of the real total batch size to the '
        "config's auto_scale_lr.base_batch_size",
    )
    common_args(parser)
    args = parser.parse_args(argv)
    set_local_rank_env(args.local_rank, args.device)
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Train with the config and flags of ``argv`` (default ``sys.argv[1:]``)."""
    args = parse_args(argv)
    cfg = prepare_cfg(
        args.config,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        amp=args.amp,
        resume=args.resume,
        auto_scale_lr=args.auto_scale_lr,
    )
    runner = build_runner(cfg)
    check_checkpoints(runner, cfg, allow_partial=args.allow_partial)
    runner.train()


if __name__ == '__main__':
    main()
