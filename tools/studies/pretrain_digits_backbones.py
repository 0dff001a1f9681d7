"""Pre-train the tiny detectors' backbone on the digits classification data (Tables 5/6).

The model-zoo workflow of the Bag of Freebies' Tables 5/6 ("pre-training classification
network backbone with mixup"): train the classifier whose backbone is the detectors' (mmpretrain,
``configs/bag_of_freebies/digits/resnet18-tiny{,_mixup}_1xb32-1k_digits-cls.py``) with
``tools/train.py``, and save its final checkpoint where the detector configs'
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` read it:

    work_dirs/pretrained/resnet18-tiny_digits-cls.pth         (no mixup)
    work_dirs/pretrained/resnet18-tiny_mixup_digits-cls.pth   (mixup, alpha 0.2)

The study arms that load them are leaf configs of ``configs/bag_of_freebies/digits/study/``
with the path written in ``model.backbone.init_cfg.checkpoint`` (``*_cls-pretrained_*``: the
plain one; ``*_mixup-cls-pretrained_*``: the mixup one); only ``--quick`` points them at the
2-iteration pre-training of ``freebies_pretrain_digits.pretrain_backbones`` by an option.

The saved file keeps the classifier's whole ``state_dict`` (``backbone.*``, ``head.*``) and
its ``meta``, not the optimizer state. An existing checkpoint is kept unless ``--force``.

    python -m tools.studies.pretrain_digits_backbones [--only mixup] [--force]
        [--out-dir work_dirs/pretrained] [--cfg-options train_cfg.max_iters=2 ...]
"""

import argparse
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from tools import REPO

CONFIG = 'configs/bag_of_freebies/digits/resnet18-tiny{}_1xb32-1k_digits-cls.py'
#: name -> (config, output file name); the detector configs point at OUT_DIR/<file>
BACKBONES: Dict[str, tuple] = {
    'plain': (CONFIG.format(''), 'resnet18-tiny_digits-cls.pth'),
    'mixup': (CONFIG.format('_mixup'), 'resnet18-tiny_mixup_digits-cls.pth'),
}
OUT_DIR = 'work_dirs/pretrained'


def last_checkpoint(work_dir: str) -> str:
    """Path of the checkpoint mmengine's CheckpointHook recorded last in ``work_dir``."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        path = f.read().strip()
    return path if osp.isabs(path) else osp.join(REPO, path)


def save_weights(src: str, dst: str) -> None:
    """Write ``state_dict`` and ``meta`` of checkpoint ``src`` to ``dst`` (atomically)."""
    import torch

    ckpt = torch.load(src, map_location='cpu', weights_only=False)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=ckpt['state_dict'], meta=ckpt.get('meta', {})), dst + '.tmp')
    os.replace(dst + '.tmp', dst)


def pretrain(
    name: str, out_dir: str, work_root: str, cfg_options: Sequence[str] = (), force: bool = False
) -> str:
    """Train one backbone (unless its checkpoint exists) and return the checkpoint path."""
    config, filename = BACKBONES[name]
    out = osp.join(out_dir, filename)
    if osp.isfile(out) and not force:
        print(f'{name}: {out} exists (use --force to retrain)')
        return out
    work_dir = osp.join(work_root, osp.splitext(filename)[0])
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        osp.join(REPO, config),
        '--work-dir',
        work_dir,
    ]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    subprocess.run(cmd, check=True, cwd=os.getcwd(), env=env)
    save_weights(last_checkpoint(work_dir), out)
    print(f'{name}: wrote {out}')
    return out


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', choices=list(BACKBONES), nargs='+', default=list(BACKBONES))
    parser.add_argument(
        '--out-dir', default=OUT_DIR, help='where the detector configs read the checkpoints'
    )
    parser.add_argument(
        '--work-dir', default='work_dirs/pretrain', help='training folders (logs, full checkpoints)'
    )
    parser.add_argument('--force', action='store_true', help='retrain existing checkpoints')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='forwarded to tools/train.py (e.g. a shorter schedule)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    args = parse_args(argv)
    return [
        pretrain(name, args.out_dir, args.work_dir, args.cfg_options, args.force)
        for name in args.only
    ]


if __name__ == '__main__':
    main()
