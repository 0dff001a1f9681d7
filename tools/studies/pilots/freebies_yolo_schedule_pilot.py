"""Pilot: how long does the augmented tiny YOLOv3 baseline need to converge on the digits?

Not a study of the paper's claims (no method arm, one seed): it measures the convergence
curve of Table 2's augmented baseline so that a converged schedule for Tables 1 and 2 can be
fixed before those studies run again. Why: in ``freebies_yolo_digits.py`` (from scratch,
24 epochs) every baseline still gained 3-10 mAP@0.5 in its last quarter, and in
``freebies_pretrain_digits.py`` the baseline from the digits-pretrained backbone still gained
~5-7 over the last quarter of 12 epochs, so ``freebies_yolo_pretrained_digits.py``'s rule
(12 epochs only if that gain is at most 1) did not allow its 12-epoch schedule.

Arms (seed 0, the Table 2 "baseline" config and optimiser unchanged): from scratch and from
the backbone pre-trained without mixup, each for :data:`EPOCHS` epochs with the steps of the
study schedule scaled (x0.1 at 3/4 and 7/8), validated every :data:`VAL_EVERY` epochs.

Arms: each is a leaf config of ``configs/bag_of_freebies/digits/study/`` (no
``--cfg-options`` but ``--quick``'s): ``yolov3_r18-tiny_aug_1xb8-72e_digits-det.py`` (Table
2's ``aug`` leaf at 72 epochs and the digits rows' lr 0.01) and
``yolov3_r18-tiny_aug_cls-pretrained_1xb8-72e_digits-det.py`` (the same with the backbone
loading the plain pre-training's checkpoint).

    python -m tools.studies.pilots.freebies_yolo_schedule_pilot --jobs 2

Writes ``docs/results/freebies_yolo_schedule_pilot.{md,json,png}``.
"""

import dataclasses
from typing import Optional, Sequence

from tools.studies import freebies_pretrain_digits as pre
from tools.studies import freebies_yolo_digits as table2
from tools.studies.harness import Study, Variant, build_datasets, main
from tools.studies.settings import freebies_digits as fb

# --- settings (fixed before running) ----------------------------------------------------
EPOCHS = 72
VAL_EVERY = 6
STEPS = (54, 63)  # x0.1 at 3/4 and 7/8 of the epochs
# ----------------------------------------------------------------------------------------

VARIANTS = [
    Variant(
        f'baseline from scratch, {EPOCHS} epochs',
        table2.leaf('aug', f'1xb8-{EPOCHS}e'),
        quick=fb.yolo_quick(False),
    ),
    Variant(
        f'baseline from the pre-trained backbone, {EPOCHS} epochs',
        table2.leaf('aug_cls-pretrained', f'1xb8-{EPOCHS}e'),
        quick=fb.yolo_quick(False) + pre.quick_init(),
    ),
]


def prepare(study: Study, quick: bool = False) -> None:
    build_datasets(VARIANTS[0].config)
    pre.pretrain_backbones(quick)


REFERENCE = (
    table2.YOLO_RECIPE
    + '\n'
    + table2.YOLO_DIFFERENCES.split('\n- seeds:')[0]
    + '\n'
    + f"""\
- schedule (what this pilot measures): AdamW lr 0.01 (the digits config's), batch 8,
  {EPOCHS} epochs of 125 iterations, 1-epoch warm-up, step x0.1 at 3/4 and 7/8 (GluonCV: SGD
  lr 0.001 at batch 64, 200 epochs, steps at 160 / 180), from scratch and from the digits
  classification pre-training ({pre.CKPT['plain']}) instead of ImageNet; one seed (a
  pilot, no claim).
"""
)

STUDY = dataclasses.replace(
    fb.yolo_pilot(
        'freebies_yolo_schedule_pilot',
        'Pilot: convergence of the tiny YOLOv3 digits baseline (Table 2 "baseline")',
        VARIANTS,
        [
            fb.DATA_LINE,
            '- one seed, no method arm: a pilot for the schedule of Tables 1 and 2 (see the '
            "script's docstring);",
            f'- the augmented tiny YOLOv3 baseline of Table 2 (AdamW lr 0.01, batch 8), {EPOCHS} '
            'epochs of 125 iterations, 1-epoch warm-up, step x0.1 at epochs '
            f'{STEPS[0]} and {STEPS[1]}, validation every '
            f'{VAL_EVERY} epochs; from scratch and from `{pre.CKPT["plain"]}`;',
            fb.METRIC_LINE,
        ],
        prepare,
    ),
    reference=REFERENCE,
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
