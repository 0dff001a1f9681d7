"""Study: Bag of Freebies Tables 5/6 (mixup in pre-training and in detection), digits.

Claim tested (Zhang et al. 2019, Sec. 4, Tables 5 and 6, COCO AP@[.5:.95]): mixup helps in
either phase -- pre-training the classification backbone with mixup, or training the
detector with visually coherent mixup -- and most in both ("1 + 1 > 2"): YOLOv3 35.0 / 35.3 /
36.4 / 37.0 and Faster R-CNN 39.9 / 40.1 / 40.1 / 41.1 for (-, -), (-, + det), (+ pre, -),
(+, +). The model-zoo workflow: ``tools/studies/pretrain_digits_backbones.py`` trains the
detectors' backbone on the digits classification data with mmpretrain (with and without
mixup, alpha 0.2) and writes the checkpoints the detector configs' ``init_cfg=dict(
type='Pretrained', ..., prefix='backbone.')`` point at; this study runs it first (its
checkpoints are kept and reused), then the four combinations per detector. Settings are
fixed in :mod:`tools.studies.settings.freebies_digits`; the fourth freebies study file.

Arms: each is a leaf config of ``configs/bag_of_freebies/digits/study/`` (:func:`leaf`; no
``--cfg-options`` but ``--quick``'s), the backbone checkpoint written in it
(``model.backbone.init_cfg.checkpoint``: the plain pre-training in ``*_cls-pretrained_*``,
the mixup one in ``*_mixup-cls-pretrained_*``). Tiny YOLOv3:
``yolov3_r18-tiny_{aug,aug-mixup}_{cls,mixup-cls}-pretrained_1xb8-12e_digits-det.py``, 12
epochs at the digits rows' lr 0.01 (written on the 48-epoch leaves of
``freebies_pretrain_yolo_digits.py``); tiny Faster R-CNN:
``faster-rcnn_r18-tiny-fpn_[coherent-mixup_]{cls,mixup-cls}-pretrained_1xb8-1k-val250_
digits-det.py``, the digits rows' 1,000 iterations validated every 250 (written on the
2,000-iteration leaves of ``freebies_pretrain_frcnn_digits.py``). The leaves and the arms
they stand for are listed in ``configs/bag_of_freebies/digits/README.md``.

    python -m tools.studies.freebies_pretrain_digits --jobs 2   # 8 variants x 3 seeds
    python -m tools.studies.freebies_pretrain_digits --quick    # 2-iteration pre-training

Writes ``docs/results/freebies_pretrain_digits.{md,json,png}``.
"""

import dataclasses
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from tools import REPO
from tools.studies.harness import Claim, Variant, main
from tools.studies.settings import freebies_digits as fb

# --- settings (fixed before running; see freebies_digits_settings) -----------------------
PRE = 'tools/studies/pretrain_digits_backbones.py'
#: the pre-trained backbones the leaves load (``model.backbone.init_cfg.checkpoint``)
CKPT = {
    'plain': 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth',
    'mixup': 'work_dirs/pretrained/resnet18-tiny_mixup_digits-cls.pth',
}
QUICK_DIR = 'work_dirs/pretrained-quick'  # --quick: 2-iteration pre-training, kept apart
#: the leaves' schedule part of this study: the first Tables 5/6 schedules
SCHEDULE = {'yolo': '1xb8-12e', 'frcnn': '1xb8-1k-val250'}
FRCNN_QUICK = (
    'train_cfg.max_iters=4',
    'train_cfg.val_interval=1',
    'default_hooks.checkpoint.interval=4',
)
# ----------------------------------------------------------------------------------------


def leaf(model: str, det: bool, pre: str, schedule: str) -> str:
    """The leaf config of one (detector, detection mixup, pre-training) arm.

    Args:
        model (str): ``'yolo'`` (tiny YOLOv3, the augmented Table 2 baseline) or ``'frcnn'``
            (tiny Faster R-CNN, the step baseline).
        det (bool): Weighted coherent mixup in detection (``aug-mixup`` /
            ``coherent-mixup``).
        pre (str): The backbone's pre-training, ``'plain'`` (``cls-pretrained``) or
            ``'mixup'`` (``mixup-cls-pretrained``): :data:`CKPT`.
        schedule (str): The schedule part of the name (e.g. ``'1xb8-12e'``).

    Returns:
        str: e.g. ``configs/bag_of_freebies/digits/study/yolov3_r18-tiny_aug-mixup_
        mixup-cls-pretrained_1xb8-12e_digits-det.py``.
    """
    backbone = {'plain': 'cls-pretrained', 'mixup': 'mixup-cls-pretrained'}[pre]
    if model == 'yolo':
        return fb.leaf('yolov3_r18-tiny', f'{"aug-mixup" if det else "aug"}_{backbone}', schedule)
    trick = f'coherent-mixup_{backbone}' if det else backbone
    return fb.leaf('faster-rcnn_r18-tiny-fpn', trick, schedule)


def quick_init(name: str = 'plain') -> Tuple[str]:
    """``--quick`` option loading the 2-iteration pre-training of backbone ``name``."""
    return (f'model.backbone.init_cfg.checkpoint={osp.join(QUICK_DIR, osp.basename(CKPT[name]))}',)


def combos(detector: str, model: str, schedule: str, quick) -> list:
    """The four (pre-training mixup, detection mixup) arms of one detector, each its leaf
    (:func:`leaf`).

    Args:
        detector (str): The arms' name prefix and group (``'5 (tiny YOLOv3)'``).
        model (str): ``'yolo'`` or ``'frcnn'``.
        schedule (str): The leaves' schedule part.
        quick (dict): ``detection mixup -> --quick options`` (the pre-training's
            2-iteration checkpoint is added).

    Returns:
        list: ``- pre, - det`` (the baseline), ``- pre, + det``, ``+ pre, - det``,
        ``+ pre, + det``.
    """
    out, base = [], f'{detector}: - pre, - det'
    for pre in ('plain', 'mixup'):
        for det in (False, True):
            name = f'{detector}: {"+" if pre == "mixup" else "-"} pre, {"+" if det else "-"} det'
            out.append(
                Variant(
                    name,
                    leaf(model, det, pre, schedule),
                    baseline=None if name == base else base,
                    group=f'Table {detector}',
                    quick=quick[det] + quick_init(pre),
                )
            )
    return out


VARIANTS = combos(
    '5 (tiny YOLOv3)', 'yolo', SCHEDULE['yolo'], {d: fb.yolo_quick(d) for d in (False, True)}
) + combos(
    '6 (tiny Faster R-CNN)', 'frcnn', SCHEDULE['frcnn'], {d: FRCNN_QUICK for d in (False, True)}
)

P = 'coco/bbox_mAP'  # Tables 5/6 report COCO AP@[.5:.95]


#: The paper's effects (COCO 2017 val AP@[.5:.95] points) of the four comparisons, from
#: Table 5 (YOLOv3, Darknet-53: (-, -) 35.0, (-, + det) 35.3, (+ pre, -) 36.4, (+, +) 37.0)
#: and Table 6 (Faster R-CNN, ResNet-101: 39.9, 40.1, 40.1, 41.1), in the order of
#: :func:`claims`: detection mixup, pre-training mixup, both vs detection only, both vs
#: pre-training only.
PAPER_EFFECTS = {
    'YOLOv3': ('Table 5', (0.3, 1.4, 1.7, 0.6)),  # 35.3-35.0, 36.4-35.0, 37.0-35.3, 37.0-36.4
    'Faster R-CNN': ('Table 6', (0.2, 0.2, 1.0, 1.0)),  # 40.1-39.9, 40.1-39.9, 41.1-40.1 (x2)
}


def claims(det: str) -> List[Claim]:
    """The four paired comparisons of one detector's (pre-training, detection) mixup grid,
    with the paper's effect of the detector named in ``det`` (:data:`PAPER_EFFECTS`)."""
    none, d_only = f'{det}: - pre, - det', f'{det}: - pre, + det'
    p_only, both = f'{det}: + pre, - det', f'{det}: + pre, + det'
    table, effects = next(
        (v for k, v in PAPER_EFFECTS.items() if k in det), ('', (None, None, None, None))
    )
    rows = [
        (f'Table {det}: mixup in detection raises AP', d_only, none),
        (f'Table {det}: mixup in pre-training raises AP', p_only, none),
        (f'Table {det}: mixup in both beats detection mixup alone', both, d_only),
        (f'Table {det}: mixup in both beats pre-training mixup alone', both, p_only),
    ]
    return [
        Claim(name, m, b, P, paper_effect=e, paper_source=table)
        for (name, m, b), e in zip(rows, effects)
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
    from tools.studies import pretrain_digits_backbones as pre

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


#: The authors' recipe of Tables 5/6 (shared with freebies_pretrain_yolo_digits.py).
PRETRAIN_RECIPE = """\
Recipe followed:
- Bag of Freebies (Zhang et al. 2019), Sec. 4 "Impact of mixup on different phases of
  training detection network", Tables 5 (YOLOv3, Darknet-53) and 6 (Faster R-CNN,
  ResNet-101), COCO 2017 val AP@[.5:.95]: backbones pre-trained on ImageNet with or without
  mixup, detectors trained with or without visually coherent mixup; the authors' released
  code, GluonCV: scripts/classification/imagenet/train_imagenet.py (--mixup, alpha 0.2) for
  the backbones, scripts/detection/yolo/train_yolo3.py (--mixup: Beta(1.5, 1.5), per-object
  weights, off for the last 20 epochs) and scripts/detection/faster_rcnn/
  train_faster_rcnn.py (--mixup) for the detectors.
- The model-zoo workflow: a classification pre-training (mmpretrain, mixup alpha 0.2 with
  soft-target CE) writes the checkpoint the detector's backbone init_cfg loads.
"""

#: Deliberate differences of the Tables 5/6 digits studies.
PRETRAIN_DIFFERENCES = """\
Deliberate differences (every arm alike):
- data: the digits classification data at 56x56 for pre-training (1,000 iterations of batch
  32, AdamW 2e-3), the digits detection proxy for detection (1,000 train images, 200 val),
  not ImageNet / COCO: CPU budget; no flips (a mirrored digit is another digit);
- models: the tiny ResNet-18 (stage width 16) for both detectors, not Darknet-53 /
  ResNet-101: CPU budget;
- detector recipes: the digits tiny YOLOv3 and tiny Faster R-CNN configs (AdamW, batch 8,
  pycocotools AP), with the YOLOv3 differences listed in freebies_yolo_digits.py's
  REFERENCE (crop, expand, optimiser, evaluation);
- Faster R-CNN mixup: mmext's weighted coherent mixup (Beta(1.5, 1.5), weights on the
  positive RoIs only, RPN and negatives at 1, never switched off), not the authors' code
  (GluonCV's train_faster_rcnn.py mixes at a fixed 0.5, scales the whole RPN + R-CNN loss by
  the mix weight and switches mixup off for the last epochs; issue 29);
- seeds: 3 (see docs/results/claim_resolution.md for the seeds each claim would need).
"""

REFERENCE = (
    PRETRAIN_RECIPE
    + '\n'
    + PRETRAIN_DIFFERENCES
    + f"""\
- schedules: tiny YOLOv3 {fb.PRETRAINED_YOLO_EPOCHS} epochs at the configs' lr 0.01 and tiny
  Faster R-CNN {fb.PRETRAINED_FRCNN_ITERS} iterations (half the from-scratch schedules, the
  backbone being pre-trained): neither baseline converged (see
  freebies_pretrain_yolo_digits.py and freebies_pretrain_frcnn_digits.py for the longer ones).
"""
)

STUDY = dataclasses.replace(
    fb.detection_study(
        'freebies_pretrain_digits',
        'Bag of Freebies Tables 5/6 on the digits (mixup in pre-training and detection)',
        VARIANTS,
        CLAIMS,
        SETUP,
        primary=P,
        pretrain=pretrain_backbones,
        step_unit='epoch (tiny YOLOv3) or iteration (tiny Faster R-CNN)',
    ),
    reference=REFERENCE,
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
