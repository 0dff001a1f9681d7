"""Study: Bag of Freebies Table 1 (mixup variants) and the freebies on reduced data, digits.

Claims tested (Zhang et al. 2019): Table 1 (YOLOv3, VOC 2007 mAP@0.5) -- every visually
coherent mixup beats the baseline (0.5:0.5 evenly +1.55, Beta(1, 1) weighted +1.98,
Beta(1.5, 1.5) weighted +2.04) and the weighted Beta(1.5, 1.5) mixup beats the even one;
and, outside the paper, whether the whole bag of Table 2 helps where the baseline overfits:
the same schedule (same number of iterations) on the first 250 of the 1,000 train images.
Settings are fixed in :mod:`tools.experiments.freebies_digits_settings`; one of the
freebies study files (Table 2: ``freebies_yolo_digits.py`` from scratch and
``freebies_yolo_pretrained_digits.py``; Table 3: ``freebies_frcnn_digits.py``).

Changed before this study first ran: it was written for the from-scratch tiny YOLOv3 of the
first Table 2 study (24 epochs), whose augmented baseline did not converge (mAP@0.5 still
rising by ~10 points in its last quarter). Every arm here starts from the backbone pre-trained
on the digits classification data without mixup (as the paper's YOLOv3 starts from an
ImageNet-pretrained Darknet-53), with the schedule of the pre-trained Table 2 study
(``freebies_yolo_pretrained_digits.EPOCHS``, chosen there by a rule fixed before it ran).
Not run yet: it waits, with that study, for a schedule the baseline converges in
(``freebies_yolo_schedule_pilot.py``).

    python tools/experiments/freebies_mixup_digits.py --jobs 2   # 6 variants x 3 seeds
    python tools/experiments/freebies_mixup_digits.py --quick

Writes ``docs/results/freebies_mixup_digits.{md,json,png}``.
"""

import os.path as osp
import sys
from typing import Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tools.experiments import freebies_digits_settings as fb  # noqa: E402
from tools.experiments import freebies_pretrain_digits as pre  # noqa: E402
from tools.experiments import freebies_yolo_pretrained_digits as table2  # noqa: E402
from tools.experiments.harness import Claim, Variant, main  # noqa: E402

# --- settings (fixed before running; see freebies_digits_settings) -----------------------
CFG = table2.CFG  # the *_cls-pretrained_* tiny YOLOv3 configs
EPOCHS = table2.EPOCHS
T1 = 'Table 1 (mixup on the tiny YOLOv3 baseline, pre-trained backbone)'
REDUCED = f'reduced data ({fb.REDUCED_TRAIN} train images, same iterations)'
MIX = 'train_dataloader.dataset.pipeline.0.'
SCHED = fb.yolo_schedule(mixup=False, cosine=False, epochs=EPOCHS)
SCHED_MIX = fb.yolo_schedule(mixup=True, cosine=False, epochs=EPOCHS)
# ----------------------------------------------------------------------------------------


def _quick(mixup: bool) -> tuple:
    return fb.yolo_quick(mixup) + pre.quick_init()


VARIANTS = [
    Variant('baseline', CFG.format('aug'), SCHED, None, T1, quick=_quick(False)),
    Variant(
        '0.5:0.5 evenly',
        CFG.format('aug-mixup'),
        SCHED_MIX + (MIX + 'ratio=0.5', 'model.bbox_head.type=YOLOV3Head'),
        'baseline',
        T1,
        quick=_quick(True),
    ),
    Variant(
        'Beta(1, 1) weighted',
        CFG.format('aug-mixup'),
        SCHED_MIX + (MIX + 'alpha=1.0', MIX + 'beta=1.0'),
        'baseline',
        T1,
        quick=_quick(True),
    ),
    Variant(
        'Beta(1.5, 1.5) weighted',
        CFG.format('aug-mixup'),
        SCHED_MIX,
        'baseline',
        T1,
        quick=_quick(True),
    ),
    Variant(
        f'baseline, {fb.REDUCED_TRAIN} images',
        CFG.format('aug'),
        fb.yolo_schedule(False, False, fb.REDUCED_TRAIN, epochs=EPOCHS),
        None,
        REDUCED,
        quick=_quick(False),
    ),
    Variant(
        f'whole bag, {fb.REDUCED_TRAIN} images',
        CFG.format('aug-rs-cos-ls-mixup'),
        fb.yolo_schedule(True, True, fb.REDUCED_TRAIN, epochs=EPOCHS),
        f'baseline, {fb.REDUCED_TRAIN} images',
        REDUCED,
        quick=_quick(True),
    ),
]

P = fb.PRIMARY
CLAIMS = [
    Claim('0.5:0.5 mixup raises mAP', '0.5:0.5 evenly', 'baseline', P),
    Claim('Beta(1, 1) weighted mixup raises mAP', 'Beta(1, 1) weighted', 'baseline', P),
    Claim('Beta(1.5, 1.5) weighted mixup raises mAP', 'Beta(1.5, 1.5) weighted', 'baseline', P),
    Claim(
        'weighted Beta(1.5, 1.5) beats 0.5:0.5 evenly',
        'Beta(1.5, 1.5) weighted',
        '0.5:0.5 evenly',
        P,
    ),
    Claim(
        'the whole bag raises mAP on reduced data',
        f'whole bag, {fb.REDUCED_TRAIN} images',
        f'baseline, {fb.REDUCED_TRAIN} images',
        P,
    ),
]

SETUP = [
    fb.DATA_LINE,
    '- model: tiny YOLOv3 (ResNet-18 of stage width 16), the backbone initialised from the '
    f'digits classification pre-training without mixup (`{pre.CKPT["plain"]}`, written by '
    f'`{pre.PRE}`), AdamW lr 0.01, batch 8, {EPOCHS} epochs of 125 iterations, 1-epoch '
    'warm-up, step x0.1 at epochs '
    f'{fb.yolo_steps(EPOCHS)[0]} and {fb.yolo_steps(EPOCHS)[1]}, validation at 4 points'
    ' (the steps of '
    'the curves are epochs);',
    "- Table 1: the baseline is Table 2's (with the random expand / crop / photometric "
    'augmentation of each image); mixup (`mmext.CoherentMixUp` in `MultiImageMixDataset`, '
    f'off for the last {fb.yolo_mixup_off(EPOCHS)} epoch(s)) with lambda = 0.5 and the '
    'unweighted `YOLOV3Head` ("0.5:0.5 evenly"), or lambda ~ Beta(a, a) with the per-object '
    'weights of `mmext.WeightedYOLOV3Head` ("weighted loss");',
    f'- reduced data: the first {fb.REDUCED_TRAIN} train images (`indices`), epochs x4 so '
    'that the number of iterations, warm-up, decay steps and mixup-off period match; the '
    '"whole bag" is Table 2\'s last row (random shapes, cosine, GluonCV label smoothing, '
    'weighted mixup);',
    fb.METRIC_LINE,
]


STUDY = fb.detection_study(
    'freebies_mixup_digits',
    'Bag of Freebies Table 1 and reduced data on the digits (tiny YOLOv3, pre-trained backbone)',
    VARIANTS,
    CLAIMS,
    SETUP,
    pretrain=pre.pretrain_backbones,
    step_unit='epoch',
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
