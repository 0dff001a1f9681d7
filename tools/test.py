"""Evaluate a checkpoint with an mmdet / mmseg / mmpretrain config that uses mmext.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out metrics.json]
                         [--show] [--show-dir DIR] [--wait-time S] [--tta]
                         [--cfg-options k=v ...]
    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [args]

Prints the metrics; ``--out`` also writes them to a JSON file (unlike mmseg/mmdet, whose
``--out`` dumps predictions).

``--show`` / ``--show-dir DIR`` draw the predictions with the config's visualization hook, as
mmseg's/mmdet's ``tools/test.py`` (details in
:func:`mmext.apis.evaluation_flags.trigger_visualization_hook`): ``--show-dir`` writes one
image per test image under DIR (mmdet: ``DIR/<image name>``; mmseg:
``DIR/vis_data/vis_image/test_<image name>_0.png``); ``--show`` needs a display and fails with
a message pointing to ``--show-dir`` on a machine without one. ``--tta`` tests with the
config's ``tta_model`` and ``tta_pipeline`` (:func:`mmext.apis.evaluation_flags.enable_tta`).
"""

import argparse
import json
import os
import os.path as osp
from typing import List, Optional

import mmext  # noqa: F401
from mmext.apis.evaluation_flags import enable_tta, trigger_visualization_hook
from mmext.apis.launch import build_runner, common_args, prepare_cfg, set_local_rank_env
from mmext.apis.run_checks import check_checkpoints


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv``; default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Test a model with mmext')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions in a window (needs a display)'
    )
    parser.add_argument(
        '--show-dir', help='write the images with the predictions drawn under this directory'
    )
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds each --show window stays'
    )
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation with the config's tta_model and tta_pipeline",
    )
    common_args(parser)
    args = parser.parse_args(argv)
    set_local_rank_env(args.local_rank, args.device)
    return args


def _jsonable(value):
    if hasattr(value, 'tolist'):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def main(argv: Optional[List[str]] = None) -> dict:
    """Test the checkpoint with the config and flags of ``argv``; return the metrics."""
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = prepare_cfg(
        args.config,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        load_from=args.checkpoint,
    )
    trigger_visualization_hook(
        cfg, show=args.show, show_dir=args.show_dir, wait_time=args.wait_time
    )
    if args.tta:
        enable_tta(cfg)
    runner = build_runner(cfg)
    check_checkpoints(
        runner, cfg, test_checkpoint=args.checkpoint, allow_partial=args.allow_partial
    )
    metrics = runner.test()
    if args.out and runner.rank == 0:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(_jsonable(dict(metrics)), f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
