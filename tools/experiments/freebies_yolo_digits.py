"""Study: Bag of Freebies Table 2 (training refinements stacked on YOLOv3), tiny YOLOv3, digits.

Claim tested (Zhang et al. 2019, Sec. 4, Table 2): on YOLOv3, data augmentation matters a
lot (- data augmentation: -16 mAP), and random training shapes, the cosine schedule, class
label smoothing and mixup each add to the previous row (+0.98, +0.46, +0.45, +1.54 mAP@0.5
on VOC 2007), the stack +3.4 over the baseline. Settings (schedule, data, seeds) are fixed in
:mod:`tools.experiments.freebies_digits_settings`; one of the three freebies study files
(Table 2; Table 1 and the reduced-data variant: ``freebies_mixup_digits.py``; Table 3:
``freebies_frcnn_digits.py``).

Synchronized BN (Table 2's second row) is left out: it exists to give each GPU's BN the
statistics of the whole multi-GPU batch; these runs train the whole batch of 8 in one
process, so plain BN already normalises over it and SyncBN would compute the same thing.

    python tools/experiments/freebies_yolo_digits.py --jobs 2    # 6 variants x 3 seeds
    python tools/experiments/freebies_yolo_digits.py --quick     # every variant, 4 tiny epochs

Writes ``docs/results/freebies_yolo_digits.{md,json,png}``.
"""

import os.path as osp
import sys
from typing import Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tools.experiments import freebies_digits_settings as fb  # noqa: E402
from tools.experiments.harness import Claim, Variant, main  # noqa: E402

# --- settings (fixed before running; see freebies_digits_settings) -----------------------
CFG = 'configs/bag_of_freebies/digits/yolov3_r18-tiny_{}_1xb8-8e_digits-det.py'
GROUP = 'Table 2 (stacked, tiny YOLOv3)'
# (row, config, mixup, cosine, baseline of the paired delta)
ROWS = [
    ('- data augmentation', 'baseline', False, False, None),
    ('baseline', 'aug', False, False, '- data augmentation'),
    ('+ random shapes', 'aug-rs', False, False, 'baseline'),
    ('+ cosine', 'aug-rs-cos', False, True, '+ random shapes'),
    ('+ label smoothing', 'aug-rs-cos-ls', False, True, '+ cosine'),
    ('+ mixup', 'aug-rs-cos-ls-mixup', True, True, '+ label smoothing'),
]
# ----------------------------------------------------------------------------------------

VARIANTS = [
    Variant(
        name,
        CFG.format(cfg),
        fb.yolo_schedule(mixup, cosine),
        base,
        GROUP,
        quick=fb.yolo_quick(mixup),
    )
    for name, cfg, mixup, cosine, base in ROWS
]

P = fb.PRIMARY
CLAIMS = [
    Claim('data augmentation raises mAP', 'baseline', '- data augmentation', P),
    Claim('random training shapes raise mAP', '+ random shapes', 'baseline', P),
    Claim('cosine lr raises mAP (on top)', '+ cosine', '+ random shapes', P),
    Claim('class label smoothing raises mAP (on top)', '+ label smoothing', '+ cosine', P),
    Claim('mixup raises mAP (on top)', '+ mixup', '+ label smoothing', P),
    Claim('the whole bag raises mAP', '+ mixup', 'baseline', P),
    Claim('the whole bag raises mAP@[.5:.95]', '+ mixup', 'baseline', 'coco/bbox_mAP'),
]

SETUP = [
    fb.DATA_LINE,
    '- model: tiny YOLOv3 (ResNet-18 of stage width 16, mmdet YOLOv3 neck and head, anchors '
    'k-means on the digits boxes) from scratch, AdamW lr 0.01, batch 8, epoch-based '
    f'({fb.YOLO_EPOCHS} epochs of 125 iterations, 1-epoch linear warm-up, step x0.1 at '
    f'epochs {fb.YOLO_STEPS[0]} and {fb.YOLO_STEPS[1]}, validation every '
    f'{fb.YOLO_EPOCHS // fb.VAL_POINTS} epochs: the steps of the curves and the '
    'convergence table are epochs);',
    '- rows stacked as in Table 2: "- data augmentation" = no augmentation at all; '
    '"baseline" = + random expand (up to 2x), a random crop of 30-100 % per side and '
    'photometric distortion (GluonCV / mmdet YOLOv3 train transform without the flip, one '
    'random crop instead of the IoU-constrained one: 0.2 vs 17.6 ms per image); '
    '"+ random shapes" = batches '
    'resized to a random multiple of 32 in [64, 128] every 10 iterations '
    '(`BatchSyncRandomResize`; test size 96); "+ cosine" = `mmext.WarmupCosineLR` after the '
    'same warm-up; "+ label smoothing" = sigmoid targets 1 - eps / eps with GluonCV\'s '
    'eps = min(1/K, 1/40) = 0.025 (`sigmoid_mode=\'gluoncv\'`); "+ mixup" = weighted coherent '
    f'mixup Beta(1.5, 1.5), off for the last {fb.YOLO_MIXUP_OFF_EPOCHS} epochs;',
    '- SyncBN is not a row: one process already normalises over the whole batch of 8;',
    fb.METRIC_LINE,
]


STUDY = fb.detection_study(
    'freebies_yolo_digits',
    'Bag of Freebies Table 2 on the digits (tiny YOLOv3)',
    VARIANTS,
    CLAIMS,
    SETUP,
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
