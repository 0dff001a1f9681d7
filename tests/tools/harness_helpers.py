"""Fakes shared by the harness tests (tests/tools/test_harness_*.py): a fake ``tools/train.py``,
leaf configs of the fake arms and a study of three arms (no real training).

The fake "train" process writes mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json``
with 4 validation records whose mIoU depends on the variant and seed, so the caching, the
resume after a failure, the statistics and the report can be checked against numbers
computed by hand; the ``fake_runner`` fixture (``conftest.py``) makes
:class:`~tools.studies.harness.Runner` run it.
"""

import os.path as osp
import tempfile

from tools import REPO
from tools.studies import harness

FAKE_TRAIN = r"""
import json, os, sys
work_dir, variant, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(os.path.join(os.path.dirname(work_dir), 'calls.txt'), 'a') as f:
    f.write(f'{variant} {seed}\n')
if os.path.exists(os.path.join(os.path.dirname(work_dir), 'fail_' + variant)):
    sys.exit(3)
d = os.path.join(work_dir, '20260101_000000', 'vis_data')
os.makedirs(d)
# a 2x-schedule run (the length check): the baseline's curve + the gain in 'long_gain'
# (default 0.2), at steps twice as far
long = variant.endswith(' (2x schedule)')
gain_file = os.path.join(os.path.dirname(work_dir), 'long_gain')
gain = (float(open(gain_file).read()) if os.path.exists(gain_file) else 0.2) if long else 0.0
variant = variant[: -len(' (2x schedule)')] if long else variant
curve = {'base': [20, 40, 49, 50], 'better': [20, 41, 52, 53], 'worse': [10, 30, 43, 45]}
with open(os.path.join(d, 'scalars.json'), 'w') as f:
    for k, step in enumerate((10, 20, 30, 40)):
        step = 2 * step if long else step
        f.write(json.dumps({'loss': 1.0 / (k + 1), 'step': step}) + '\n')
        f.write(json.dumps({'w/a': 0.1 * k, 'step': step}) + '\n')
        m = curve[variant][k] + seed + gain
        f.write(json.dumps({'mIoU': m, 'worstIoU': m - 30, 'step': step}) + '\n')
"""

CFG = 'configs/digits/deeplabv3plus_r18-tiny_1xb8-2k_digits-seg.py'
#: the fake arms' leaf configs (:func:`leaf`), written once per test session
LEAVES = tempfile.TemporaryDirectory(prefix='harness_leaves_')


def leaf(base=CFG, **values):
    """A leaf config on ``base`` (relative to the repository, or a leaf) setting top-level
    ``values`` (what the arms' option strings set before options were removed); its absolute
    path, which the harness reads as it reads a repository-relative one."""
    name = '_'.join(f'{k}{v}' for k, v in sorted(values.items()))
    if base != CFG:
        name = osp.splitext(osp.basename(base))[0] + '-' + name
    path = osp.join(LEAVES.name, f'leaf_{name}.py')
    if not osp.exists(path):
        lines = [f'_base_ = {osp.join(REPO, base)!r}'] + [f'{k} = {v!r}' for k, v in values.items()]
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return path


def make_study(converge_tol=1.0):
    variants = [
        harness.Variant('base', leaf(a=1, s=1)),
        harness.Variant('better', leaf(a=2, s=1), 'base'),
        harness.Variant('worse', leaf(a=3, s=1), 'base'),
    ]
    claims = [
        harness.Claim('better is better', 'better', 'base', 'mIoU'),
        harness.Claim('worse is better', 'worse', 'base', 'mIoU'),
        harness.Claim('worse lowers worst', 'worse', 'base', 'worstIoU', -1),
    ]
    return harness.Study(
        name='fake',
        title='Fake study',
        variants=variants,
        seeds=(0, 1, 2),
        metrics=[('mIoU', 'mIoU')],
        claims=claims,
        setup=['- fake'],
        converge_tol=converge_tol,
        train_scalars=('w/',),
    )
