"""Study: Bag of Freebies Tables 5/6 (mixup in pre-training and in detection), digits.

Claim tested (Zhang et al. 2019, Sec. 4, Tables 5 and 6, COCO AP@[.5:.95]): mixup helps in
either phase -- pre-training the classification backbone with mixup, or training the
detector with visually coherent mixup -- and most in both ("1 + 1 > 2"): YOLOv3 35.0 / 35.3 /
36.4 / 37.0 and Faster R-CNN 39.9 / 40.1 / 40.1 / 41.1 for (-, -), (-, + det), (+ pre, -),
(+, +). The model-zoo workflow: ``tools/experiments/pretrain_digits_backbones.py`` trains the
detectors' backbone on the digits classification data with mmpretrain (with and without
mixup, alpha 0.2) and writes the checkpoints the detector configs' ``init_cfg=dict(
type='Pretrained', ..., prefix='backbone.')`` point at; this study runs it first (its
checkpoints are kept and reused), then the four combinations per detector. Settings are
fixed in :mod:`tools.experiments.freebies_digits_settings`; the fourth freebies study file.

    python tools/experiments/freebies_pretrain_digits.py --jobs 2   # 8 variants x 3 seeds
    python tools/experiments/freebies_pretrain_digits.py --quick    # 2-iteration pre-training

Writes ``docs/results/freebies_pretrain_digits.{md,json,png}``.
"""

import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tools.experiments import freebies_digits_settings as fb  # noqa: E402
from tools.experiments.harness import Claim, Variant, main  # noqa: E402

# --- settings (fixed before running; see freebies_digits_settings) -----------------------
PRE = 'tools/experiments/pretrain_digits_backbones.py'
CKPT = {
    'plain': 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth',
    'mixup': 'work_dirs/pretrained/resnet18-tiny_mixup_digits-cls.pth',
}
QUICK_DIR = 'work_dirs/pretrained-quick'  # --quick: 2-iteration pre-training, kept apart
YOLO = 'configs/bag_of_freebies/digits/yolov3_r18-tiny_{}_cls-pretrained_1xb8-8e_digits-det.py'
FRCNN = (
    'configs/bag_of_freebies/digits/faster-rcnn_r18-tiny-fpn_{}cls-pretrained_1xb8-1k_digits-det.py'
)
FRCNN_LOOP = fb.frcnn_loop(fb.PRETRAINED_FRCNN_ITERS) + fb.frcnn_schedule(
    False, fb.PRETRAINED_FRCNN_ITERS
)
FRCNN_QUICK = (
    'train_cfg.max_iters=4',
    'train_cfg.val_interval=1',
    'default_hooks.checkpoint.interval=4',
)
# ----------------------------------------------------------------------------------------


def quick_init(name: str = 'plain') -> Tuple[str]:
    """``--quick`` option loading the 2-iteration pre-training of backbone ``name``."""
    return (f'model.backbone.init_cfg.checkpoint={osp.join(QUICK_DIR, osp.basename(CKPT[name]))}',)


def combos(detector: str, configs, schedules, quick) -> list:
    """The four (pre-training mixup, detection mixup) variants of one detector."""
    out, base = [], f'{detector}: - pre, - det'
    for pre in ('plain', 'mixup'):
        for det in (False, True):
            name = f'{detector}: {"+" if pre == "mixup" else "-"} pre, {"+" if det else "-"} det'
            ckpt = (f'model.backbone.init_cfg.checkpoint={CKPT[pre]}',)
            out.append(
                Variant(
                    name,
                    configs[det],
                    schedules[det] + ckpt,
                    None if name == base else base,
                    f'Table {detector}',
                    quick=quick[det] + quick_init(pre),
                )
            )
    return out


VARIANTS = combos(
    '5 (tiny YOLOv3)',
    {False: YOLO.format('aug'), True: YOLO.format('aug-mixup')},
    {d: fb.yolo_schedule(d, False, epochs=fb.PRETRAINED_YOLO_EPOCHS) for d in (False, True)},
    {d: fb.yolo_quick(d) for d in (False, True)},
) + combos(
    '6 (tiny Faster R-CNN)',
    {False: FRCNN.format(''), True: FRCNN.format('coherent-mixup_')},
    {d: FRCNN_LOOP for d in (False, True)},
    {d: FRCNN_QUICK for d in (False, True)},
)

P = 'coco/bbox_mAP'  # Tables 5/6 report COCO AP@[.5:.95]


def claims(det: str) -> List[Claim]:
    """The four paired comparisons of one detector's (pre-training, detection) mixup grid."""
    none, d_only = f'{det}: - pre, - det', f'{det}: - pre, + det'
    p_only, both = f'{det}: + pre, - det', f'{det}: + pre, + det'
    return [
        Claim(f'Table {det}: mixup in detection raises AP', d_only, none, P),
        Claim(f'Table {det}: mixup in pre-training raises AP', p_only, none, P),
        Claim(f'Table {det}: mixup in both beats detection mixup alone', both, d_only, P),
        Claim(f'Table {det}: mixup in both beats pre-training mixup alone', both, p_only, P),
    ]


CLAIMS = claims('5 (tiny YOLOv3)') + claims('6 (tiny Faster R-CNN)')

SETUP = [
    fb.DATA_LINE,
    '- pre-training: `configs/bag_of_freebies/digits/resnet18-tiny{,_mixup}_1xb32-1k_'
    "digits-cls.py` (mmpretrain `ImageClassifier`, the detectors' ResNet-18 of width 16, "
    'digits classification data upscaled to 56x56, 1,000 iterations of batch 32, AdamW '
    '2e-3; mixup alpha 0.2 with soft-target CE), run once by '
    f'`{PRE}` (cached in `work_dirs/pretrained/`);',
    f'- tiny YOLOv3: the augmented baseline of Table 2 (step lr), {fb.PRETRAINED_YOLO_EPOCHS} '
    'epochs (pre-trained backbone: half the from-scratch schedule), "+ det" = weighted '
    'coherent mixup Beta(1.5, 1.5) off for the last epoch;',
    f'- tiny Faster R-CNN: the step-lr baseline, {fb.PRETRAINED_FRCNN_ITERS} iterations, input '
    'normalised as in the pre-training (x / 255), "+ det" = weighted coherent mixup;',
    '- every variant validates at 4 points;',
    fb.metric_line("mAP@[.5:.95], the metric of the paper's Tables 5 and 6"),
]


def pretrain_backbones(quick: bool) -> None:
    """Run the pre-training script from the repository root (the configs' relative paths);
    existing checkpoints are kept."""
    from tools.experiments import pretrain_digits_backbones as pre

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        if not quick:
            pre.main([])
            return
        # a 2-iteration pre-training on a small copy of the data, both kept apart
        data = 'work_dirs/pretrain-quick/digits_cls'
        pre.main(
            [
                '--out-dir',
                QUICK_DIR,
                '--work-dir',
                'work_dirs/pretrain-quick',
                '--cfg-options',
                'train_cfg.max_iters=2',
                'train_cfg.val_interval=2',
                'default_hooks.checkpoint.interval=2',
                'train_dataloader.batch_size=4',
                f'train_dataloader.dataset.data_root={data}',
                'train_dataloader.dataset.max_per_class=10',
                f'val_dataloader.dataset.data_root={data}',
                'val_dataloader.dataset.max_per_class=2',
                'val_dataloader.dataset.indices=4',
                'train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False',
                'val_dataloader.num_workers=0',
                'val_dataloader.persistent_workers=False',
            ]
        )
    finally:
        os.chdir(cwd)


STUDY = fb.detection_study(
    'freebies_pretrain_digits',
    'Bag of Freebies Tables 5/6 on the digits (mixup in pre-training and detection)',
    VARIANTS,
    CLAIMS,
    SETUP,
    primary=P,
    pretrain=pretrain_backbones,
    step_unit='epoch (tiny YOLOv3) or iteration (tiny Faster R-CNN)',
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
