"""Study: Balance-batch on the long-tailed digits segmentation data (settings fixed here).

Claim tested (Balance-batch paper, Sec. III, Figs. 1, 3, 5): forming batches of
non-repeating classes raises mIoU for CE, Soft IoU and Soft Dice at the same batch size,
most for the unstable (overlap) losses.

Every variant trains the digits configs' own schedule (2,000 iterations, AdamW lr 2e-3,
100-iteration warm-up then poly decay) from scratch on the configs' model (see
:mod:`tools.experiments.digits_seg_settings`), with the same 3 seeds, validates at 4 points;
no per-method tuning. The arms per loss (CE, Soft Dice, Soft IoU):

* the baseline: random batches of 8 images;
* Balance-batch, ``batch_max`` 8, as the paper reads literally (a batch closes once it holds
  ``batch_cl`` classes), ``batch_cl`` in ``BATCH_CL`` (11 = every class, background included;
  6 = about half);
* the **image-matched control** of each Balance-batch arm: random batches of
  ``CONTROL_BATCH[batch_cl]`` images, the rounded mean batch size of that Balance-batch
  arm (so both see the same number of images in the same number of iterations; this keeps
  the paper's fixed-iteration protocol and separates *which* images share a batch from *how
  many* images a batch holds);
* Balance-batch in its fixed-size mode (every batch exactly 8 images and at least
  ``FIXED_CL`` classes): image-matched to the baseline by construction;
* for Soft Dice / Soft IoU, the per-image reading of Eq. 6 (ratio per image, averaged over
  images) beside the default batch-level reading (Algorithm 1).

    python tools/experiments/balance_batch_digits.py --jobs 2
    python tools/experiments/balance_batch_digits.py --quick
    python tools/experiments/balance_batch_digits.py --batch-sizes   # CONTROL_BATCH check

Writes ``docs/results/balance_batch_digits.{md,json,png}``.
"""

import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tools.experiments import digits_seg_settings as digits  # noqa: E402
from tools.experiments.harness import Claim, Study, Variant, build_datasets, load_config, main  # noqa: E402

# --- settings (fixed before running; see the module docstring) --------------------------
SEEDS = (0, 1, 2)
BATCH = 8  # baseline batch size = Balance-batch batch_max
BATCH_CL = (6, 11)  # Balance-batch batch_cl (11 classes in the data)
SWEEP_CL = (6, 8, 11)  # the CE arm sweeps more values
FIXED_CL = 6  # fixed-size mode: 8 images, >= 6 classes
#: rounded mean images per batch of Balance-batch(batch_max 8, batch_cl k) on the train
#: split (epochs 0-4, seeds 0-2); `--batch-sizes` recomputes them, a test checks them.
CONTROL_BATCH = {6: 3, 8: 4, 11: 5}
# ----------------------------------------------------------------------------------------

CFG = 'configs/balance_batch/digits/deeplabv3plus_r18-tiny_{}_1xb8-2k_digits-seg.py'
LOSSES = (('CE', 'ce'), ('Soft Dice', 'soft-dice'), ('Soft IoU', 'soft-iou'))
SCHEDULE = digits.SCHEDULE


def loss_variants(label: str, key: str) -> List[Variant]:
    """The arms of one loss (see the module docstring)."""
    base = Variant(label, CFG.format(key), (), None, label)
    out = [base]
    sweep = SWEEP_CL if key == 'ce' else BATCH_CL
    controls = {}
    for cl in sweep:
        bb = Variant(
            f'{label} + BB cl{cl}',
            CFG.format(f'{key}-bb-cl11'),
            (f'train_dataloader.batch_sampler.batch_cl={cl}',),
            label,
            label,
        )
        b = CONTROL_BATCH[cl]
        if b not in controls:
            controls[b] = Variant(
                f'{label} batch {b}',
                CFG.format(key),
                (f'train_dataloader.batch_size={b}',),
                None,
                label,
            )
        out += [bb]
    out += list(controls.values())
    out.append(
        Variant(
            f'{label} + BB fixed-size cl{FIXED_CL}',
            CFG.format(f'{key}-bb-cl11'),
            (
                f'train_dataloader.batch_sampler.batch_cl={FIXED_CL}',
                'train_dataloader.batch_sampler.fixed_size=True',
            ),
            label,
            label,
        )
    )
    if key != 'ce':
        out.append(
            Variant(
                f'{label} per-image',
                CFG.format(key),
                ('model.decode_head.loss_decode.per_image=True',),
                label,
                label,
            )
        )
    return out


VARIANTS = [v for label, key in LOSSES for v in loss_variants(label, key)]


def _claims() -> List[Claim]:
    claims = []
    for label, _ in LOSSES:
        claims.append(
            Claim(
                f'Balance-batch raises mIoU ({label}, same batch_max)',
                f'{label} + BB cl11',
                label,
                'mIoU',
            )
        )
        claims.append(
            Claim(
                f'Balance-batch raises mIoU ({label}, same images seen)',
                f'{label} + BB cl11',
                f'{label} batch {CONTROL_BATCH[11]}',
                'mIoU',
            )
        )
        claims.append(
            Claim(
                f'fixed-size Balance-batch raises mIoU ({label})',
                f'{label} + BB fixed-size cl{FIXED_CL}',
                label,
                'mIoU',
            )
        )
    return claims


METRICS = [
    ('mIoU', 'mIoU'),
    ('FWIoU', 'fwIoU'),
    ('MA', 'mAcc'),
    ('PA', 'aAcc'),
    ('IoU 7', 'IoU.7'),
    ('IoU 8', 'IoU.8'),
    ('IoU 9', 'IoU.9'),
    ('worst IoU', 'worstIoU'),
]

SETUP = [
    digits.DATA_LINE,
    digits.setup_model_line(
        aux=False,
        extra=', so that the Soft Dice / Soft IoU runs '
        'train with that loss only; GroupNorm in the ASPP head, since a '
        'Balance-batch batch can be a single image',
    ),
    '- losses: CE, `mmext.SoftDiceLoss` / `mmext.SoftIoULoss` (Eq. 5, no smoothing; '
    'batch-level ratio divided by N unless "per-image");',
    f'- Balance-batch: `mmext.BalanceBatchSampler`, batch_max {BATCH}; controls at batch '
    f'sizes {CONTROL_BATCH} (batch_cl: images) = the rounded mean batch size of each '
    'Balance-batch arm (`--batch-sizes`, table below);',
    '- metric: `mmext.FairIoUMetric` (PA = aAcc, MA = mAcc, mIoU, FWIoU = fwIoU).',
    '',
    digits.PILOT,
]


def mean_batch_sizes(
    cls: Sequence[int] = SWEEP_CL,
    epochs: int = 5,
    seeds: Sequence[int] = SEEDS,
    fixed: bool = False,
) -> Dict[int, float]:
    """Mean images per batch of Balance-batch(batch_max 8, batch_cl k) epoch plans."""
    from mmengine.dataset import DefaultSampler
    from mmengine.registry import DATASETS, init_default_scope

    from mmext.datasets.samplers import BalanceBatchSampler

    cfg = load_config(CFG.format('ce'), SCHEDULE)
    init_default_scope('mmseg')
    ds_cfg = cfg.train_dataloader.dataset.copy()
    ds_cfg.data_root = osp.join(REPO, ds_cfg.data_root)
    ds_cfg.pipeline = []
    dataset = DATASETS.build(ds_cfg)
    out = {}
    for cl in cls:
        sizes = []
        for seed in seeds:
            kw = dict(fixed_size=True) if fixed else {}
            sampler = BalanceBatchSampler(
                DefaultSampler(dataset, seed=seed), batch_size=BATCH, batch_cl=cl, **kw
            )
            sizes += [len(b) for e in range(epochs) for b in sampler.plan(e)]
        out[cl] = float(np.mean(sizes))
    return out


def prepare(study: Study) -> None:
    build_datasets(CFG.format('ce'), SCHEDULE)


def sections(study: Study, runs: List[dict]) -> List[str]:
    sizes = mean_batch_sizes()
    lines = [
        '## Images per batch',
        '',
        f'Mean images per batch of the Balance-batch plans (batch_max {BATCH}; epochs '
        '0-4 of seeds 0-2) and the control batch size fixed in the study file.',
        '',
        '| batch_cl | mean images / batch | control batch size |',
        '|---|---|---|',
    ]
    for cl, m in sizes.items():
        lines.append(f'| {cl} | {m:.2f} | {CONTROL_BATCH[cl]} |')
    lines += [f'| {FIXED_CL} (fixed-size) | {BATCH} | {BATCH} (the baseline) |', '']
    return lines


STUDY = Study(
    name='balance_batch_digits',
    title='Balance-batch on the long-tailed digits data',
    variants=VARIANTS,
    seeds=SEEDS,
    schedule=SCHEDULE,
    metrics=METRICS,
    claims=_claims(),
    setup=SETUP,
    quick=digits.QUICK,
    prepare=prepare,
    sections=sections,
)


def run(argv: Optional[Sequence[str]] = None) -> str:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ['--batch-sizes']:
        build_datasets(CFG.format('ce'), SCHEDULE, ('train',))
        sizes = mean_batch_sizes()
        text = '\n'.join(
            f'batch_cl {cl}: {m:.3f} images / batch -> control batch {int(round(m))}'
            for cl, m in sizes.items()
        )
        print(text)
        return text
    return main(STUDY, __file__, argv)


if __name__ == '__main__':
    run()
