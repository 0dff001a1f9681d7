"""Study: Bag of Freebies Table 3 (training refinements stacked on Faster R-CNN), digits.

Claim tested (Zhang et al. 2019, Sec. 4, Table 3): on Faster R-CNN the cosine schedule, class
label smoothing and mixup each add to the previous row (+1.82, +0.64, +1.09 mAP@0.5 on VOC
2007), the stack +3.55 over the step-schedule baseline. The tiny Faster R-CNN is a competent
detector on the digits (67 mAP@[.5:.95] after 1,000 iterations), so this is the freebies'
setting rather than an underfit one. Settings are fixed in
:mod:`tools.experiments.freebies_digits_settings`; one of the three freebies study files
(Table 2: ``freebies_yolo_digits.py``; Table 1 and reduced data:
``freebies_mixup_digits.py``).

    python tools/experiments/freebies_frcnn_digits.py --jobs 2   # 4 variants x 3 seeds
    python tools/experiments/freebies_frcnn_digits.py --quick

Writes ``docs/results/freebies_frcnn_digits.{md,json,png}``.
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
CFG = 'configs/bag_of_freebies/digits/faster-rcnn_r18-tiny-fpn_{}_1xb8-1k_digits-det.py'
GROUP = 'Table 3 (stacked, tiny Faster R-CNN)'
# (row, config, cosine, baseline of the paired delta)
ROWS = [
    ('baseline (step)', 'baseline', False, None),
    ('+ cosine', 'cosine', True, 'baseline (step)'),
    ('+ label smoothing', 'cosine-label-smooth', True, '+ cosine'),
    ('+ mixup', 'bof-all', True, '+ label smoothing'),
]
# ----------------------------------------------------------------------------------------

VARIANTS = [
    Variant(name, CFG.format(cfg), fb.frcnn_schedule(cosine), base, GROUP)
    for name, cfg, cosine, base in ROWS
]

P = fb.PRIMARY
CLAIMS = [
    Claim('cosine lr raises mAP', '+ cosine', 'baseline (step)', P),
    Claim('class label smoothing raises mAP (on top)', '+ label smoothing', '+ cosine', P),
    Claim('mixup raises mAP (on top)', '+ mixup', '+ label smoothing', P),
    Claim('the whole bag raises mAP', '+ mixup', 'baseline (step)', P),
    Claim('the whole bag raises mAP@[.5:.95]', '+ mixup', 'baseline (step)', 'coco/bbox_mAP'),
]

SETUP = [
    fb.DATA_LINE,
    '- model: tiny Faster R-CNN + FPN (ResNet-18 of stage width 16) from scratch, AdamW '
    f'lr 2e-3, batch 8, {fb.FRCNN_ITERS} iterations, 100-iteration linear warm-up, '
    f'validation every {fb.FRCNN_ITERS // fb.VAL_POINTS} iterations;',
    f'- rows stacked as in Table 3: baseline = step x0.1 at {fb.FRCNN_STEPS[0]} and '
    f'{fb.FRCNN_STEPS[1]}; "+ cosine" = `mmext.WarmupCosineLR` to 1 % of the lr; "+ label '
    'smoothing" = Eq. 3 on the 11-way softmax RoI classifier, eps = 0.1; "+ mixup" = '
    'coherent mixup Beta(1.5, 1.5) with the per-object weights of '
    '`mmext.WeightedStandardRoIHead` (R-CNN stage; the RPN unweighted), on for the whole '
    'schedule (iteration-based loop, no PipelineSwitchHook);',
    '- Table 3\'s "- data augmentation" row is not run: the digits detectors use no '
    "augmentation (the paper's Faster R-CNN augmentation is the flip, which digits cannot "
    'take);',
    fb.METRIC_LINE,
]


STUDY = fb.detection_study(
    'freebies_frcnn_digits',
    'Bag of Freebies Table 3 on the digits (tiny Faster R-CNN)',
    VARIANTS,
    CLAIMS,
    SETUP,
    schedule=fb.FRCNN_SCHEDULE,
    quick=fb.FRCNN_QUICK,
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
