"""Study: Tilted CE on the long-tailed digits segmentation data (settings fixed here).

Claim tested (TCE paper, Sec. 4, Tables 1 and 3): tilting the cross-entropy lowers per-class
disparity (worst-class IoU up, std of the class IoUs down, bottom 25 % up) without
necessarily raising mIoU. The class-level TCE at ``t = 0`` is a per-image class-balanced
CE (Eq. 3's limit), so ``t > 0`` against ``t = 0`` isolates the tilt from the per-class
averaging.

Every variant trains the digits configs' own schedule (2,000 iterations, AdamW lr 2e-3,
100-iteration warm-up then poly decay, batch 8) from scratch on the configs' model (see
:mod:`tools.experiments.digits_seg_settings`), validates at 4 points and is run for the same
3 seeds; no per-method tuning. Run with the harness
(:mod:`tools.experiments.harness`):

    python tools/experiments/tce_digits.py --jobs 2      # 9 variants x 3 seeds
    python tools/experiments/tce_digits.py --quick       # every variant, a few iterations

Writes ``docs/results/tce_digits.{md,json,png}``.
"""

import dataclasses
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import List, Optional, Sequence

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tools.experiments import digits_seg_settings as digits  # noqa: E402
from tools.experiments.harness import Claim, Study, Variant, build_datasets, main  # noqa: E402

# --- settings (fixed before running; see the module docstring) --------------------------
SEEDS = (0, 1, 2)
CFG = 'configs/tilted_ce/digits/deeplabv3plus_r18-tiny_{}_1xb8-2k_digits-seg.py'
SCHEDULE = digits.SCHEDULE
# ----------------------------------------------------------------------------------------


def _img(t: float) -> Variant:
    return Variant(
        f'TCE image t={t:g}',
        CFG.format('tce-img-t1'),
        (f'model.decode_head.loss_decode.tilt={t}',),
        'CE',
        'image-level TCE',
    )


def _cls(t: float) -> Variant:
    return Variant(
        f'TCE class t={t:g}',
        CFG.format('tce-cls-t1'),
        (f'model.decode_head.loss_decode.tilt={t}',),
        'CE' if t == 0 else 'TCE class t=0',
        'class-level TCE',
    )


def _stce(t: float) -> Variant:
    # background (class 0) is never drawn: every batch is built around a digit class
    return Variant(
        f'Stochastic TCE t={t:g}',
        CFG.format('stce-t1'),
        (f'custom_hooks.0.tilt={t}', 'train_dataloader.batch_sampler.exclude_classes=[0]'),
        'CE',
        'Stochastic TCE',
    )


VARIANTS = [
    Variant('CE', CFG.format('mcce'), (), None, 'baselines'),
    Variant('Focal', CFG.format('focal'), (), 'CE', 'baselines'),
    _img(0.1),
    _img(1.0),
    _cls(0.0),
    _cls(0.1),
    _cls(1.0),
    _cls(5.0),
    _stce(0.1),
    _stce(1.0),
]

CLAIMS = [
    Claim('the tilt raises the worst-class IoU', 'TCE class t=1', 'TCE class t=0', 'worstIoU'),
    Claim('the tilt lowers the std of class IoUs', 'TCE class t=1', 'TCE class t=0', 'stdIoU', -1),
    Claim('the tilt raises the bottom 25 %', 'TCE class t=1', 'TCE class t=0', 'bottom25_mIoU'),
    Claim(
        'a small tilt raises the worst-class IoU', 'TCE class t=0.1', 'TCE class t=0', 'worstIoU'
    ),
    Claim('a large tilt raises the worst-class IoU', 'TCE class t=5', 'TCE class t=0', 'worstIoU'),
    Claim('class-level TCE raises the worst-class IoU', 'TCE class t=1', 'CE', 'worstIoU'),
    Claim('class-level TCE lowers the std of class IoUs', 'TCE class t=1', 'CE', 'stdIoU', -1),
    Claim('class-level TCE raises the bottom 25 %', 'TCE class t=1', 'CE', 'bottom25_mIoU'),
    Claim('image-level TCE raises the worst-class IoU', 'TCE image t=1', 'CE', 'worstIoU'),
    Claim('Stochastic TCE raises the worst-class IoU', 'Stochastic TCE t=1', 'CE', 'worstIoU'),
    Claim('Stochastic TCE lowers the std of class IoUs', 'Stochastic TCE t=1', 'CE', 'stdIoU', -1),
    Claim(
        'Stochastic TCE (t=0.1) raises the worst-class IoU',
        'Stochastic TCE t=0.1',
        'CE',
        'worstIoU',
    ),
]

METRICS = [
    ('mIoU', 'mIoU'),
    ('worst IoU', 'worstIoU'),
    ('std IoU', 'stdIoU'),
    ('bottom 25 %', 'bottom25_mIoU'),
    ('top 25 %', 'top25_mIoU'),
    ('FWIoU', 'fwIoU'),
    ('PA', 'aAcc'),
]

SETUP = [
    digits.DATA_LINE,
    digits.setup_model_line(aux=True, extra='; batch 8'),
    '- variants: the loss of the decode head (CE; Focal loss, `mmext.SegFocalLoss` = the maths '
    "of mmseg's sigmoid `FocalLoss`, whose CPU branch cannot train, gamma 2 with alpha the "
    'normalised inverse class pixel frequency of the train split, written to '
    f'`{digits.DATA_ROOT}/class_pixel_frequency.json` by `tools/analysis/'
    'class_pixel_frequency.py`; `mmext.TiltedCrossEntropyLoss` at the '
    'image level (Eq. 2) or class level (Eq. 3) with the tilt t), or Stochastic TCE '
    '(`mmext.TiltedClassSampler` + `mmext.TiltedClassHook`, Algorithm 1, gamma 0.1, '
    'background never drawn) with CE;',
    '- metric: `mmext.FairIoUMetric` (worst / std / bottom and top 25 % of the class IoUs, '
    'each model sorted by its own IoUs; Table 3 below sorts by the CE model as the paper).',
    '',
    digits.PILOT,
]


def prepare(study: Study) -> None:
    """Build the study's data once (before parallel runs) and fix the Focal alpha.

    The Focal config inherits the alpha of the configs' 64x64 data
    (``configs/tilted_ce/_base_/focal_alpha_digits-seg.py``); the study trains on its own
    48x48 data, so the alpha of *that* train split (``<data_root>/class_pixel_frequency.json``,
    same tool) is given to the Focal variant as ``model.decode_head.loss_decode.alpha``.
    """
    import json

    from tools.analysis import class_pixel_frequency

    build_datasets(CFG.format('mcce'), SCHEDULE)
    cwd = os.getcwd()
    os.chdir(REPO)  # the configs' data_root is relative to the working directory
    try:
        study_alpha = osp.join(digits.DATA_ROOT, 'class_pixel_frequency.json')
        if not osp.isfile(study_alpha):
            class_pixel_frequency.main(
                [
                    CFG.format('mcce'),
                    '--out',
                    study_alpha,
                    '--num-workers',
                    '2',
                    '--cfg-options',
                    *digits.DATA,
                ]
            )
        with open(study_alpha) as f:
            alpha = [round(a, 6) for a in json.load(f)['focal_alpha']]
    finally:
        os.chdir(cwd)
    option = 'model.decode_head.loss_decode.alpha=[' + ','.join(map(str, alpha)) + ']'
    study.variants = [
        dataclasses.replace(v, options=v.options + (option,)) if v.name == 'Focal' else v
        for v in study.variants
    ]


def per_class(runs: Sequence[dict]):
    """Class names and ``(runs, K)`` IoU arrays per variant from the final validations."""
    names = [k[len('IoU.') :] for k in runs[0]['final'] if k.startswith('IoU.')]
    out: 'OrderedDict[str, list]' = OrderedDict()
    for r in runs:
        out.setdefault(r['variant'], []).append(
            [np.nan if r['final'][f'IoU.{c}'] is None else r['final'][f'IoU.{c}'] for c in names]
        )
    return names, OrderedDict((k, np.array(v, dtype=float)) for k, v in out.items())


def weight_ranges(runs: Sequence[dict]) -> List[str]:
    """Min / max of Stochastic TCE's class weights over training (Algorithm 1, line 8)."""
    lines = [
        '## Stochastic TCE class weights',
        '',
        'Algorithm 1 draws the class of each batch from weights w_c proportional to '
        'exp(t * loss_c) smoothed with gamma; uniform over the 10 digit classes is 0.100.',
        '',
        '| variant | seed | min w over training | max w over training | final min | final max |',
        '|---|---|---|---|---|---|',
    ]
    for r in runs:
        if not r.get('scalars'):
            continue
        w = np.array(
            [
                [v for k, v in sorted(s.items()) if not k.endswith('background')]
                for _, s in r['scalars']
            ],
            dtype=float,
        )
        if w.size == 0:
            continue
        lines.append(
            f'| {r["variant"]} | {r["seed"]} | {w.min():.4f} | {w.max():.4f} | '
            f'{w[-1].min():.4f} | {w[-1].max():.4f} |'
        )
    return lines + ['']


def sections(study: Study, runs: List[dict]) -> List[str]:
    from tools.analysis.tce_fairness_report import build_report

    classes, results = per_class(runs)
    table = build_report(results, classes, 'CE', title='Tables 1 and 3 (paper layout)')
    return [
        '#' + line if line.startswith('#') else line for line in table.split('\n')
    ] + weight_ranges(runs)


STUDY = Study(
    name='tce_digits',
    title='Tilted CE on the long-tailed digits data',
    variants=VARIANTS,
    seeds=SEEDS,
    schedule=SCHEDULE,
    metrics=METRICS,
    claims=CLAIMS,
    setup=SETUP,
    quick=digits.QUICK,
    prepare=prepare,
    sections=sections,
    train_scalars=('tce/weight/',),
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
