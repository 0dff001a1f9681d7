"""Study: Bag of Freebies Table 6 (mixup in pre-training and detection) at Table 3's schedule.

The tiny Faster R-CNN half of ``freebies_pretrain_digits.py`` again, with the one change that
its baseline needed: that study trained the detectors for the configs' own 1,000 iterations
and its baseline ("6 (tiny Faster R-CNN): - pre, - det") still gained 3.37 AP@[.5:.95] in
the last quarter (not converged). Here every arm trains for the 2,000 iterations (step x0.1
at 1,400 and 1,800) of the Table 3 study (``freebies_frcnn_digits.py``), whose step baseline
converged. Everything else -- configs, pre-trained checkpoints, seeds, the four arms and
claims -- is that study's, imported from it; its results file keeps the 1,000-iteration
runs.

Arms: each is a leaf config of ``configs/bag_of_freebies/digits/study/``
(``freebies_pretrain_digits.leaf``; no ``--cfg-options`` but ``--quick``'s):
``faster-rcnn_r18-tiny-fpn_[coherent-mixup_]{cls,mixup-cls}-pretrained_1xb8-2k_
digits-det.py``, Table 3's step baseline leaf (its study ``_base_``: 2,000 iterations,
steps at 1,400 / 1,800) with the pre-trained backbone's checkpoint
(``model.backbone.init_cfg.checkpoint``) and the pre-training's input normalisation, and
for "+ det" the weighted coherent mixup.

    python -m tools.studies.freebies_pretrain_frcnn_digits --jobs 2   # 4 variants x 3 seeds

Writes ``docs/results/freebies_pretrain_frcnn_digits.{md,json,png}``; runs the pre-training
first when its checkpoints are missing.
"""

import dataclasses
from typing import Optional, Sequence

from tools.studies import freebies_pretrain_digits as pre
from tools.studies.harness import main
from tools.studies.settings import freebies_digits as fb

# --- settings (fixed before running) ----------------------------------------------------
ITERS = fb.FRCNN_ITERS  # Table 3's converged schedule
SCHEDULE = '1xb8-2k'  # the leaves' schedule part (Table 3's study leaves)
DETECTOR = '6 (tiny Faster R-CNN, 2,000 iterations)'
# ----------------------------------------------------------------------------------------

VARIANTS = pre.combos(DETECTOR, 'frcnn', SCHEDULE, {d: pre.FRCNN_QUICK for d in (False, True)})
CLAIMS = pre.claims(DETECTOR)

SETUP = [
    fb.DATA_LINE,
    '- pre-training: as in `freebies_pretrain_digits.py` (the same two checkpoints, '
    f'`{pre.CKPT["plain"]}` and `{pre.CKPT["mixup"]}`, written by `{pre.PRE}`);',
    f'- tiny Faster R-CNN: the step-lr baseline, {ITERS} iterations (x0.1 at '
    f'{fb.FRCNN_STEPS[0]} and {fb.FRCNN_STEPS[1]}, the Table 3 schedule), input normalised '
    'as in the pre-training (x / 255), "+ det" = weighted coherent mixup Beta(1.5, 1.5);',
    '- why: the 1,000-iteration baseline of `freebies_pretrain_digits.py` did not converge '
    '(+3.37 AP@[.5:.95] in its last quarter); every variant validates at 4 points;',
    fb.metric_line("mAP@[.5:.95], the metric of the paper's Table 6"),
]

REFERENCE = (
    pre.PRETRAIN_RECIPE
    + '\n'
    + pre.PRETRAIN_DIFFERENCES
    + f"""\
- schedule: Table 3's tiny Faster R-CNN schedule ({ITERS} AdamW iterations, step x0.1 at
  {fb.FRCNN_STEPS[0]} and {fb.FRCNN_STEPS[1]}), not GluonCV's SGD epochs: the 1,000-iteration
  baseline of freebies_pretrain_digits.py did not converge; CPU budget;
- only Table 6 (Faster R-CNN) here; Table 5 at 48 epochs is freebies_pretrain_yolo_digits.py.
"""
)

STUDY = dataclasses.replace(
    fb.detection_study(
        'freebies_pretrain_frcnn_digits',
        'Bag of Freebies Table 6 on the digits at 2,000 iterations (tiny Faster R-CNN)',
        VARIANTS,
        CLAIMS,
        SETUP,
        primary=pre.P,
        pretrain=pre.pretrain_backbones,
    ),
    reference=REFERENCE,
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
