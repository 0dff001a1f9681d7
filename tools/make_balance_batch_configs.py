"""Write the sweep leaf configs of ``configs/balance_batch`` (section III of Balance-batch).

Every leaf is a few lines on top of one shared per-loss config in
``configs/balance_batch/_base_/``:

* batch-size sweeps without Balance-batch, batch size 1..12, for CE (Fig. 1 baseline,
  section III.A), Soft IoU (Fig. 3a) and Soft Dice (Fig. 5a);
* ``batch_cl`` sweeps with Balance-batch at the paper's batch sizes: CE ``batch_max=9``,
  ``batch_cl`` 2..12 (Fig. 1); Soft IoU ``batch_max=4``, 2..6 (Fig. 3b); Soft Dice
  ``batch_max=6``, 2..8 (Fig. 5b).

The digits configs (``digits/``, and ``digits/study/``: one leaf per arm of
``tools/studies/balance_batch_digits.py``) are not generated: each is a reviewed record of
one setting (the study leaves resolve to the configs the study's runs trained, checked by
``python -m tools.studies.harness.identity``), with the study file's names and values
checked against them in ``tests/tools/test_studies_balance_batch.py``.

Usage::

    python tools/make_balance_batch_configs.py           # (re)write the files
    python tools/make_balance_batch_configs.py --check   # exit 1 if stale
"""

import argparse
import os
import os.path as osp
import runpy
import sys
from typing import Dict

if not __package__:  # python tools/make_balance_batch_configs.py, not -m: tools/_bootstrap.py
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '_bootstrap.py'))

from tools import REPO  # noqa: E402

FOLDER = osp.join(REPO, 'configs', 'balance_batch')

#: loss key -> (shared per-loss config, figure of the batch-size sweep,
#:              figure of the batch_cl sweep, batch_max, batch_cl values)
LOSSES = {
    'ce': (
        'deeplabv3_r101-d8_ce_20k_voc12aug-512x512.py',
        'Fig. 1 (baseline)',
        'Fig. 1',
        9,
        range(2, 13),
    ),
    'soft-iou': (
        'deeplabv3_r101-d8_soft-iou_20k_voc12aug-512x512.py',
        'Fig. 3(a)',
        'Fig. 3(b)',
        4,
        range(2, 7),
    ),
    'soft-dice': (
        'deeplabv3_r101-d8_soft-dice_20k_voc12aug-512x512.py',
        'Fig. 5(a)',
        'Fig. 5(b)',
        6,
        range(2, 9),
    ),
}
BATCH_SIZES = range(1, 13)


def batch_size_leaf(loss: str, batch_size: int) -> str:
    base, fig = LOSSES[loss][0], LOSSES[loss][1]
    return (
        f'# Balance-batch {fig}: {loss}, batch size {batch_size}, no Balance-batch\n'
        f"_base_ = './_base_/{base}'\n"
        f'batch_size = {batch_size}\n'
        f'train_dataloader = dict(batch_size=batch_size)\n'
    )


def balance_batch_leaf(loss: str, batch_cl: int) -> str:
    base, _, fig, batch_max, _ = LOSSES[loss]
    return (
        f'# Balance-batch {fig}: {loss} with Balance-batch, batch_max {batch_max}, '
        f'batch_cl {batch_cl}\n'
        f"_base_ = './_base_/{base}'\n"
        f'batch_max = {batch_max}\n'
        f'batch_cl = {batch_cl}\n'
        f'train_dataloader = dict(\n'
        f"    batch_size=batch_max, batch_sampler=dict(type='mmext.BalanceBatchSampler', "
        f'batch_cl=batch_cl)\n'
        f')\n'
    )


def leaf_configs() -> Dict[str, str]:
    """File name -> content of every generated leaf config."""
    files = {}
    for loss, (_, _, _, batch_max, cls) in LOSSES.items():
        for bs in BATCH_SIZES:
            files[f'deeplabv3_r101-d8_{loss}_1xb{bs}-20k_voc12aug-512x512.py'] = batch_size_leaf(
                loss, bs
            )
        for cl in cls:
            name = f'deeplabv3_r101-d8_{loss}-bb-cl{cl}_1xb{batch_max}-20k_voc12aug-512x512.py'
            files[name] = balance_batch_leaf(loss, cl)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--check', action='store_true', help='only verify that the files on disk are up to date'
    )
    args = parser.parse_args()
    stale = []
    for name, text in leaf_configs().items():
        path = osp.join(FOLDER, name)
        current = open(path).read() if osp.isfile(path) else None
        if current != text:
            stale.append(name)
            if not args.check:
                os.makedirs(FOLDER, exist_ok=True)
                with open(path, 'w') as f:
                    f.write(text)
    if args.check and stale:
        print(f'{len(stale)} stale configs, e.g. {stale[0]}; rerun without --check')
        return 1
    print(
        f'{len(leaf_configs())} leaf configs, {len(stale)} {"stale" if args.check else "written"}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
