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

Schedule and lr (changed after the 24-epoch run of this study, whose baselines did not
converge, and before this one): AdamW lr 0.003 for 48 epochs (step x0.1 at 36 and 42,
mixup off for the last 4), validation every 6 epochs, chosen from the baseline alone by
``freebies_yolo_lr_pilot.py`` (lr 0.01 / 0.003 / 0.001 at 24 epochs: 47.9 / 61.2 / 52.7
mAP@0.5; lr 0.003 at 48 epochs: 78.9, +0.8 over its last 6 epochs, against 79.7 for lr 0.01
at 72 epochs in ``freebies_yolo_schedule_pilot.py``). The same lr and schedule for every
row: the baseline's tuning, shared by every freebie, as the paper stacks its freebies on one
tuned YOLOv3. **Over the 45-min budget of a study** (~1.7 h for 18 runs on 2 cores): no
cheaper setting converged (``freebies_yolo_small_pilot.py``: 64x64 canvases and stage width
8 learned far worse per iteration; fewer images need as many iterations).

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
EPOCHS = 48
LR = 0.003
VAL_EVERY = 6
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


def options(mixup: bool, cosine: bool, num_train: int = fb.NUM_TRAIN) -> tuple:
    """``--cfg-options`` of a row at this study's lr and schedule, for ``num_train`` images.

    With fewer images the epochs grow so that the iterations stay those of 1,000 images
    (:func:`~tools.experiments.freebies_digits_settings.yolo_schedule`); validation keeps
    the same number of points (every ``VAL_EVERY`` x that factor epochs).
    """
    val_interval = VAL_EVERY * fb.epoch_factor(num_train)
    return fb.yolo_schedule(mixup, cosine, num_train, epochs=EPOCHS) + (
        f'train_cfg.val_interval={val_interval}',
        f'optim_wrapper.optimizer.lr={LR}',
    )


VARIANTS = [
    Variant(
        name,
        CFG.format(cfg),
        options(mixup, cosine),
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
    f'k-means on the digits boxes) from scratch, AdamW lr {LR:g}, batch 8, epoch-based '
    f'({EPOCHS} epochs of 125 iterations, 1-epoch linear warm-up, step x0.1 at '
    f'epochs {fb.yolo_steps(EPOCHS)[0]} and {fb.yolo_steps(EPOCHS)[1]}, validation every '
    f'{VAL_EVERY} epochs); lr and length chosen on the baseline alone by '
    '`tools/experiments/freebies_yolo_lr_pilot.py`; over the 45-min budget of a study (no '
    'cheaper setting converged: `freebies_yolo_small_pilot.py`);',
    '- rows stacked as in Table 2: "- data augmentation" = no augmentation at all; '
    '"baseline" = + random expand (up to 2x), a random crop of 30-100 % per side and '
    'photometric distortion (GluonCV / mmdet YOLOv3 train transform without the flip, one '
    'random crop instead of the IoU-constrained one: 0.2 vs 17.6 ms per image); '
    '"+ random shapes" = batches '
    'resized to a random multiple of 32 in [64, 128] every 10 iterations '
    '(`BatchSyncRandomResize`; test size 96); "+ cosine" = `mmext.WarmupCosineLR` after the '
    'same warm-up; "+ label smoothing" = sigmoid targets 1 - eps / eps with GluonCV\'s '
    'eps = min(1/K, 1/40) = 0.025 (`sigmoid_mode=\'gluoncv\'`); "+ mixup" = weighted coherent '
    f'mixup Beta(1.5, 1.5), off for the last {fb.yolo_mixup_off(EPOCHS)} epochs;',
    '- SyncBN is not a row: one process already normalises over the whole batch of 8;',
    fb.METRIC_LINE,
]


STUDY = fb.detection_study(
    'freebies_yolo_digits',
    'Bag of Freebies Table 2 on the digits (tiny YOLOv3)',
    VARIANTS,
    CLAIMS,
    SETUP,
    step_unit='epoch',
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
