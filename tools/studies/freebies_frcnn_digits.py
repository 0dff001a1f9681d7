"""Study: Bag of Freebies Table 3 (training refinements stacked on Faster R-CNN), digits.

Claim tested (Zhang et al. 2019, Sec. 4, Table 3): on Faster R-CNN the cosine schedule, class
label smoothing and mixup each add to the previous row (+1.82, +0.64, +1.09 mAP@0.5 on VOC
2007), the stack +3.55 over the step-schedule baseline. The tiny Faster R-CNN is a competent
detector on the digits (67 mAP@[.5:.95] after 1,000 iterations), so this is the freebies'
setting rather than an underfit one. The three rows that are another row's baseline also
train at 2x (4,000 iterations, the step milestones and the cosine stretched) for the
schedule-length check. Every arm (and every 2x run) is a leaf config of
``configs/bag_of_freebies/digits/study/`` (:func:`leaf`; no ``--cfg-options``): its
``_base_/faster-rcnn_r18-tiny-fpn_baseline_1xb8-2k_digits-det.py`` holds the study's data
and schedule, each leaf adds one row. Settings are fixed in
:mod:`tools.studies.settings.freebies_digits`; one of the three freebies study files
(Table 2: ``freebies_yolo_digits.py``; Table 1 and reduced data:
``freebies_mixup_digits.py``).

    python -m tools.studies.freebies_frcnn_digits --jobs 2   # 5 variants x 3 seeds (+ 2x)
    python -m tools.studies.freebies_frcnn_digits --quick

Writes ``docs/results/freebies_frcnn_digits.{md,json,png}``.
"""

from typing import Optional, Sequence

from tools.studies.harness import Claim, Variant, main
from tools.studies.settings import freebies_digits as fb

# --- settings (fixed before running; see freebies_digits_settings) -----------------------
# (each arm's leaf config writes its values: a changed value is a new leaf; the names and
# the resolved configs are checked against each other in tests/tools/test_studies_freebies.py)
GROUP = 'Table 3 (stacked, tiny Faster R-CNN)'
# (row, trick of its leaf config, baseline of the paired delta)
ROWS = [
    ('baseline (step)', 'baseline', None),
    ('+ cosine', 'cosine', 'baseline (step)'),
    ('+ label smoothing', 'cosine-label-smooth', '+ cosine'),
    ('+ mixup', 'bof-all', '+ label smoothing'),
    # the authors' code's reading of the same row (REFERENCE): even 0.5 mix, the whole loss
    # of each image scaled by its mix ratio (RPN included), mixup off for the last 10 %
    ('+ mixup (GluonCV code)', 'bof-all-gluoncv-mixup', '+ label smoothing'),
]
# ----------------------------------------------------------------------------------------


def leaf(trick: str, schedule: str = '1xb8-2k') -> str:
    """The leaf config of one arm (path relative to the repository).

    Args:
        trick (str): The row's freebies (e.g. ``'cosine-label-smooth'``).
        schedule (str): The schedule part of the name: ``'1xb8-2k'`` (the study's 2,000
            iterations) or ``'1xb8-4k'`` (the 2x length check). Defaults to ``'1xb8-2k'``.

    Returns:
        str: ``configs/bag_of_freebies/digits/study/faster-rcnn_r18-tiny-fpn_{trick}_
        {schedule}_digits-det.py``.
    """
    return f'{fb.STUDY_CONFIGS}/faster-rcnn_r18-tiny-fpn_{trick}_{schedule}_digits-det.py'


#: the rows that are a baseline of another also train at 2x (the schedule-length check):
#: a leaf config of their own at 4,000 iterations (steps / cosine stretched)
BASELINES = {base for *_, base in ROWS if base is not None}
LONG_ITERS = 2 * fb.FRCNN_ITERS
VARIANTS = [
    Variant(
        name,
        leaf(trick),
        baseline=base,
        group=GROUP,
        long_config=leaf(trick, '1xb8-4k') if name in BASELINES else None,
    )
    for name, trick, base in ROWS
]

P = fb.PRIMARY
CLAIMS = [
    Claim(
        'cosine lr raises mAP',
        '+ cosine',
        'baseline (step)',
        P,
        paper_effect=1.82,
        paper_source='Table 3, + cosine: 79.59 - 77.77',
    ),
    Claim(
        'class label smoothing raises mAP (on top)',
        '+ label smoothing',
        '+ cosine',
        P,
        paper_effect=0.64,
        paper_source='Table 3, + class label smoothing: 80.23 - 79.59',
    ),
    Claim(
        'mixup raises mAP (on top)',
        '+ mixup',
        '+ label smoothing',
        P,
        paper_effect=1.09,
        paper_source='Table 3, + mixup: 81.32 - 80.23',
    ),
    Claim(
        "mixup as in the authors' code raises mAP (on top)",
        '+ mixup (GluonCV code)',
        '+ label smoothing',
        P,
        paper_effect=1.09,
        paper_source='Table 3, + mixup: 81.32 - 80.23',
    ),
    Claim(
        "mixup as in the authors' code raises mAP@0.75 (on top)",
        '+ mixup (GluonCV code)',
        '+ label smoothing',
        'coco/bbox_mAP_75',
    ),
    Claim(
        'the whole bag raises mAP',
        '+ mixup',
        'baseline (step)',
        P,
        paper_effect=3.55,
        paper_source='Table 3, + mixup - baseline: 81.32 - 77.77',
    ),
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
    'schedule (iteration-based loop, no PipelineSwitchHook); "+ mixup (GluonCV code)" = the '
    "authors' code's reading of that row (see Reference recipe): fixed 0.5:0.5 mix, every "
    'loss term of an image (RPN and R-CNN, negatives included) scaled by its mix ratio '
    "(`mmext.ImageWeightedRPNHead`, `WeightedStandardRoIHead(weighting='image')`), mixup "
    'off for the last 10 % of the iterations (`mmext.MixupSwitchOffHook`);',
    '- Table 3\'s "- data augmentation" row is not run: the digits detectors use no '
    "augmentation (the paper's Faster R-CNN augmentation is the flip, which digits cannot "
    'take);',
    fb.METRIC_LINE,
]

REFERENCE = """\
Recipe followed:
- Table 3 of Zhang et al. 2019 (Sec. 4) on Faster R-CNN, rows stacked: cosine (Sec. 3.4),
  class label smoothing (Sec. 3.3, Eq. 3), visually coherent mixup (Sec. 3.1).
- The "+ mixup (GluonCV code)" arm follows the authors' released Faster R-CNN training,
  GluonCV scripts/detection/faster_rcnn/train_faster_rcnn.py (--mixup, --no-mixup-epochs)
  with gluoncv/data/mixup/detection.py (MixupDetection) and
  gluoncv/model_zoo/rcnn/faster_rcnn/data_parallel.py (ForwardBackwardTask):
  * mix ratio: set_mixup(np.random.uniform, 0.5, 0.5), i.e. always 0.5:0.5 ("only support
    evenly mixup now" TODO), both images at the top-left of a max(h) x max(w) canvas;
  * loss: total_loss = rpn_loss.sum() * mix_ratio + rcnn_loss.sum() * mix_ratio with
    mix_ratio = 0.5 while mixing: one scalar per image for the RPN objectness + box loss
    and the R-CNN classification + box loss, negatives included; the per-object weight
    column MixupDetection appends to the label is never read (gt_label = label[:, :, 4:5]);
  * switch-off: from epoch >= epochs - no_mixup_epochs (default 20) set_mixup(None) and
    mix_ratio = 1.0 (plain images, unscaled loss).
- The "+ mixup" arm is mmext's documented default instead: lambda ~ Beta(1.5, 1.5) as in
  Sec. 3.1 / Table 1, the per-object weighted loss of Table 1 on the positive RoIs only
  (negatives and the RPN at weight 1), mixup on for the whole schedule.

Deliberate differences (all arms alike unless named):
- data: 96x96 digits canvases (1,000 train / 200 val images), not VOC 07+12 at 600x1000:
  CPU-sized proxy; no horizontal flip (a mirrored digit is another digit);
- model: tiny Faster R-CNN + FPN, ResNet-18 of stage width 16 from scratch (GluonCV:
  ResNet-50 ImageNet-pre-trained, no FPN on VOC): CPU budget, offline (no downloads);
- optimiser: AdamW lr 2e-3 with gradient clipping (GluonCV: SGD lr 1e-3, momentum 0.9, wd
  5e-4, clip 5): the tiny from-scratch model does not train with the VOC SGD settings in
  the iteration budget. With Adam a constant factor on the whole loss is nearly a no-op
  (the update is invariant to the loss scale up to eps), so the 0.5 of GluonCV's scaling
  weighs the mixed images against each other and against the unmixed last iterations only
  through the image-to-image ratios (all 0.5 here) and the switch, not as GluonCV's
  effective SGD lr halving; at the switch-off the gradient scale doubles while Adam's
  second-moment estimate (beta2 0.999) lags, so the first unmixed iterations take up to
  about 2x larger steps;
- schedule: iterations, not epochs (mmengine IterBasedTrainLoop, {iters} iterations of
  batch 8, ~{passes} passes over the data; GluonCV: 20 epochs x0.1 at 14 (step) on VOC);
  the switch-off is the last 10 % of the iterations (mmext.MixupSwitchOffHook, last_ratio
  0.1): GluonCV's Faster R-CNN default (--no-mixup-epochs 20 of --epochs 20) would never
  mix, so its launch commands must set other values, which are not in the repository; 10 %
  is the 20 of 200 epochs of its YOLOv3 recipe;
- the mix ratio of an image is read from metainfo["mixup_ratio"] (the first image's
  lambda), equal to GluonCV's only for the even mix it uses;
- three seeds, paired deltas (GluonCV/paper: one run per row).
""".format(iters=fb.FRCNN_ITERS, passes=fb.FRCNN_ITERS * 8 // 1000)

STUDY = fb.detection_study(
    'freebies_frcnn_digits',
    'Bag of Freebies Table 3 on the digits (tiny Faster R-CNN)',
    VARIANTS,
    CLAIMS,
    SETUP,
    quick=fb.FRCNN_QUICK,
)
STUDY.reference = REFERENCE


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
