"""Pilot: does the tiny YOLOv3 digits baseline converge in the small setting within budget?

Not a study of the paper's claims (no method arm, one seed). ``freebies_yolo_schedule_pilot``
found that the augmented baseline needs about 72 epochs of the 1,000 96x96 images (9,000
iterations; ~15 min per run, so Table 2's 18 runs take ~2.3 h, over the 45-min budget of a
study). The small setting (64x64 canvases, stage width 8, fused AdamW; :data:`SMALL_BASE`)
cuts the time per iteration; this pilot measures whether the baseline still converges there,
and with how much data.

Arms (seed 0, the Table 2 "baseline" config from scratch in the small setting, the 72-epoch
schedule of the first pilot: step x0.1 at epochs 54 and 63):

* 1,000 train images, 72 epochs (9,000 iterations), validation every 6 epochs;
* 500 train images (the first 500), 72 epochs (4,500 iterations), validation every 6 epochs;
* 500 train images, 144 epochs (9,000 iterations, steps at 108 / 126), validation every 12
  epochs: the same data trained twice as long, the test of the 72-epoch arm's convergence.

Rule for Tables 1 / 2 / 5 in the small setting, fixed before this pilot ran: use 72 epochs
and the largest train set of {1,000, 500} whose 72-epoch arm (a) gains at most 1 mAP@0.5 in
its last validation interval, (b) ends within 1.5 mAP@0.5 of the 9,000-iteration arm of the
same data when that arm exists (500 images), and (c) fits the budget: measured wall of the
run x 9 (18 runs, 2 at a time) x 1.15 (mixup's second image) <= 45 min. If neither does,
the tables stay unrun and the pilot's numbers say why.

Outcome (``docs/results/freebies_yolo_small_pilot.md``): 1,000 images for 72 epochs end at
24.2 mAP@0.5 (520 s: x 9 x 1.15 = 90 min, over budget); 500 images for 72 epochs at 15.1, for
144 epochs at 26.4 (so not converged at 72). Neither passes the rule, and the small setting is
a far weaker detector than the 96x96 one (79.7 at 72 epochs): it is not used.
``freebies_yolo_lr_pilot.py`` tried the learning rate next.

Arms: each is a leaf config of ``configs/bag_of_freebies/digits/study/`` (no
``--cfg-options`` but ``--quick``'s) on the small setting written as a config,
``study/_base_/yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64.py`` (Table 2's augmented row
with every data length and the anchors x 2/3, stage width 8, fused AdamW, 72 epochs):
``yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64.py`` (1,000 images),
``yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64-500img.py`` and
``yolov3_r18-tiny-w8_aug_1xb8-144e_digits-det64-500img.py`` (the first 500).

    python -m tools.studies.pilots.freebies_yolo_small_pilot --jobs 2

Writes ``docs/results/freebies_yolo_small_pilot.{md,json,png}``.
"""

import dataclasses
from typing import Optional, Sequence

from tools.studies import freebies_yolo_digits as table2
from tools.studies.harness import Study, Variant, build_datasets, main
from tools.studies.settings import freebies_digits as fb

# --- settings (fixed before running) ----------------------------------------------------
EPOCHS = 72
VAL_EVERY = 6
REDUCED = 500
#: the small setting's ``_base_`` (data, model and the 72-epoch schedule of every arm)
SMALL_BASE = f'{fb.STUDY_CONFIGS}/_base_/yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64.py'
# (arm, the leaf's schedule part, the leaf's dataset part)
ARMS = [
    (f'1000 images, {EPOCHS} epochs', f'1xb8-{EPOCHS}e', 'digits-det64'),
    (f'{REDUCED} images, {EPOCHS} epochs', f'1xb8-{EPOCHS}e', f'digits-det64-{REDUCED}img'),
    (f'{REDUCED} images, {2 * EPOCHS} epochs', f'1xb8-{2 * EPOCHS}e', f'digits-det64-{REDUCED}img'),
]
# ----------------------------------------------------------------------------------------

VARIANTS = [
    Variant(name, fb.leaf('yolov3_r18-tiny-w8', 'aug', schedule, data), quick=fb.yolo_quick(False))
    for name, schedule, data in ARMS
]


def prepare(study: Study, quick: bool = False) -> None:
    build_datasets(VARIANTS[0].config)


REFERENCE = (
    table2.YOLO_RECIPE
    + '\n'
    + table2.YOLO_DIFFERENCES.split('\n- seeds:')[0]
    + '\n'
    + f"""\
- the small setting (what this pilot measures): 64x64 canvases with digits of 8-27 px, a
  ResNet-18 of stage width 8, the k-means anchors x 2/3, fused AdamW lr 0.01, {EPOCHS} /
  {2 * EPOCHS} epochs on 1,000 / 500 images, step x0.1 at 3/4 and 7/8: to fit the CPU
  budget (not used: a far weaker detector); one seed (a pilot, no claim).
"""
)

STUDY = dataclasses.replace(
    fb.yolo_pilot(
        'freebies_yolo_small_pilot',
        'Pilot: the tiny YOLOv3 digits baseline in the small setting (64x64, width 8)',
        VARIANTS,
        [
            '- data: `mmext.DigitsCocoDataset` in `data/digits_det64`: the digits detection data '
            'with every length x 2/3 (64x64 canvases, 2-4 real MNIST digits of 8-27 px, 10 '
            'classes, 1,000 train images with imbalance ratio 10, 200 balanced val images); no '
            'flips;',
            '- one seed, no method arm: a pilot for the schedule and data size of Tables 1, 2 '
            'and 5 '
            "(decision rule in the script's docstring);",
            '- the augmented tiny YOLOv3 baseline of Table 2 from scratch (AdamW lr 0.01, batch 8, '
            'fused) with a ResNet-18 of stage width 8 and the k-means anchors x 2/3; 1-epoch '
            'warm-up, step x0.1 at 3/4 and 7/8 of the epochs; the steps of the curves are epochs;',
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
