"""The ICU study (tools/studies/icu_digits.py): its grid and every arm's leaf config, its
stages, the reference parity that gates the L-GM claims, and ``--quick`` end to end (real
tools/train.py runs) -- a check of the path, not the numbers."""

import glob
import json
import os
import os.path as osp
from importlib import import_module

import pytest

from tests.tools.studies_helpers import REPO, resolved

icu = import_module('tools.studies.icu_digits')


def test_icu_variants(tmp_path):
    """The ICU study's grid, one schedule and one initialisation for every arm, the arms'
    heads (reference arms included), the shot metric and the Gaussian parameters' own
    param group (lr 0.1, no weight decay)."""
    study = icu.STUDY
    assert study.seeds == (0, 1, 2) and study.primary == 'accuracy/top1'
    names = [v.name for v in study.variants]
    assert set(names) >= {f'{m} 2-D balanced' for m in icu.METHODS}
    for setting in ('2-D balanced', '100-D balanced'):
        assert {f'{m} {setting}' for m in icu.TABLE1_METHODS} <= set(names)
    assert {f'{m} 2-D LT100' for m in ('softmax', 'L-GM', 'ICU', 'ICU no reg')} <= set(names)
    for setting in ('2-D LT10', '100-D LT100'):
        assert {f'{m} {setting}' for m in ('softmax', 'L-GM', 'ICU')} <= set(names)
    assert len(names) == 27
    # every arm and every 2x arm is a leaf config, no options: the study folder's leaves and
    # the reference arms' test-side ones are exactly the study's
    longs = [study.length_variant(b) for b in study.baselines]
    leaves = [
        osp.relpath(p, REPO).replace(os.sep, '/')
        for folder in (icu.STUDY_CONFIGS, icu.REF_STUDY_CONFIGS)
        for p in glob.glob(osp.join(REPO, folder, '*.py'))
    ]
    assert sorted(v.config for v in study.variants + longs) == sorted(leaves)
    for v in study.variants:
        method = v.name.rsplit(' ', 2)[0]
        folder = icu.REF_STUDY_CONFIGS if 'reference' in method or 'authors' in method else None
        assert osp.dirname(v.config) == (folder or icu.STUDY_CONFIGS)
    # the Table 1 settings come first (the harness runs the study in its order)
    assert (
        names[:13]
        == [f'{m} 2-D balanced' for m in icu.GRID[(2, 1)]]
        + ['ICU params-only reg 2-D balanced']
        + [f'{m} 100-D balanced' for m in icu.GRID[(100, 1)]][:4]
    )
    for v in study.variants:
        cfg = resolved(study, v, tmp_path)
        assert cfg.train_cfg.max_iters == icu.ITERS
        assert cfg.train_cfg.val_interval * 4 == icu.ITERS
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.train_dataloader.batch_size == icu.BATCH
        assert cfg.model.backbone.init == 'pytorch' and cfg.model.backbone.get('init_cfg') is None
        keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
        for key in ('.means', '.log_vars', '.vars_inv'):
            assert keys[key].decay_mult == 0.0 and keys[key].lr_mult == icu.GAUSS_LR_MULT == 10
        dim = 100 if v.name.split()[-2] == '100-D' else 2
        assert cfg.model.backbone.out_channels == dim == cfg.model.head.in_channels
        ratio = 1.0 if v.group.endswith('balanced') else float(v.group.split('LT')[1])
        ds = cfg.train_dataloader.dataset
        assert ds.imbalance_ratio == ratio
        assert ds.data_root == cfg.val_dataloader.dataset.data_root == icu.data_root(ratio)
        assert cfg.test_dataloader.dataset.data_root == ds.data_root
        assert list(cfg.model.backbone.conv_channels) == list(icu.CONV_CHANNELS)
        assert cfg.param_scheduler.milestones == [int(0.6 * icu.ITERS), int(0.9 * icu.ITERS)]
        # the leaf's name is its setting's: feature dim and imbalance ratio
        assert f'lenetpp-{dim}d' in v.config and v.config.endswith(f'-lt{ratio:g}.py')
        metric = cfg.val_evaluator[2]
        assert metric.type == 'mmext.ClassAccuracyMetric'
        assert (metric.many_shot, metric.few_shot) == icu.SHOTS
        # floor(400 * ratio^(-k/9)), written out by hand for the three ratios
        assert (
            metric.class_counts
            == {
                1.0: [400] * 10,
                10.0: [400, 309, 239, 185, 143, 111, 86, 66, 51, 40],
                100.0: [400, 239, 143, 86, 51, 30, 18, 11, 6, 4],
            }[ratio]
        )
        head = cfg.model.head
        method = v.name.rsplit(' ', 2)[0]
        if method == 'softmax':
            # PyTorch's default init for the linear layer too (one init for every arm)
            assert head.type == 'LinearClsHead' and head.init_cfg is None
        elif method == 'L-GM':
            assert head.mode == 'lgm' and head.lambda_mu == head.lambda_sigma == 0.0
            assert (head.alpha, head.lambda_lkd) == (1.0, 0.1)  # the MNIST reference values
        elif method == 'L-GM reference':
            assert head.type == 'RefLGMClsHead'
            assert (head.alpha, head.lambda_lkd) == (1.0, 0.1)
            assert 'tests.models.lgm_reference' in cfg.custom_imports.imports
        elif method == 'ICU authors code':
            assert head.type == 'RefICUAuthorsClsHead' and head.alpha == 0.0
            assert 'tests.models.lgm_reference' in cfg.custom_imports.imports
        else:
            assert head.get('mode', 'icu') == 'icu'
            assert (head.alpha, head.gamma) == {
                'ICU no alpha': (0.0, 1e-3),
                'ICU no gamma': (1e-4, 0.0),
            }.get(method, (1e-4, 1e-3))
            assert (head.lambda_mu == 0.0) == (method == 'ICU no reg')
            assert head.get('reg_to_features', True) == (method != 'ICU params-only reg')
    # the schedule-length check: the softmax baselines at twice the schedule
    assert study.baselines == [n for n in names if n.startswith('softmax ')]
    for long in longs:
        base = study.variant(long.name.replace(' (2x schedule)', ''))
        assert long.config == base.long_config
        cfg = resolved(study, long, tmp_path)
        assert cfg.train_cfg.max_iters == 2 * icu.ITERS and cfg.train_cfg.val_interval * 4 == (
            2 * icu.ITERS
        )
        assert cfg.param_scheduler.milestones == [int(1.2 * icu.ITERS), int(1.8 * icu.ITERS)]
        assert cfg.default_hooks.checkpoint.interval == 2 * icu.ITERS
        # the same arm otherwise
        short = resolved(study, base, tmp_path)
        assert cfg.model == short.model and cfg.train_dataloader == short.train_dataloader
    # the REFERENCE block names the recipes and is rendered into the report's setup
    for text in ('kratos236/ICU-loss', 'YirongMao/softmax_variants', 'section 4.1', 'CPU'):
        assert text in icu.REFERENCE
    assert '\n'.join(icu.REFERENCE.rstrip().splitlines()) in '\n'.join(study.setup)


def test_icu_table1_stage():
    study = icu.stage_study('table1')
    assert [v.name for v in study.variants] == icu.TABLE1
    assert study.baselines == ['softmax 2-D balanced', 'softmax 100-D balanced']
    assert study.withhold is icu.withhold
    assert all(study.variant(b).long_config for b in study.baselines)
    assert study.setup[0].startswith('**Stage `table1` of this study**')
    assert {c.name for c in study.claims} == {
        f'Table 1 (MNIST {d}-D): {c}'
        for d in (2, 100)
        for c in ('ICU beats softmax', 'ICU beats L-GM', 'L-GM beats softmax')
    }


def test_icu_table1_2d_stage():
    study = icu.stage_study('table1-2d')
    assert [v.name for v in study.variants] == icu.TABLE1[:5]
    assert study.baselines == ['softmax 2-D balanced'] and len(study.claims) == 3


def _run(variant, seed, acc):
    return dict(variant=variant, seed=seed, final={'accuracy/top1': acc})


def test_icu_parity_gates_the_l_gm_claims():
    """Parity: the paired 95 % interval of mmext - reference within +-1 point; an L-GM
    claim at a dimension without parity is withheld; the ICU row does not gate."""
    study = icu.stage_study('table1')
    runs = []
    for seed, (lgm, ref2, ref100) in enumerate(
        [(90.0, 90.2, 80.0), (91.0, 90.9, 82.5), (92.0, 92.1, 81.0)]
    ):
        runs += [
            _run('L-GM 2-D balanced', seed, lgm),
            _run('L-GM reference 2-D balanced', seed, ref2),
            _run('L-GM 100-D balanced', seed, lgm),
            _run('L-GM reference 100-D balanced', seed, ref100),
            _run('ICU 2-D balanced', seed, lgm),
            _run('ICU authors code 2-D balanced', seed, 50.0 + seed),
        ]
    rows = {(r['arm'], r['setting']): r for r in icu.parity_rows(study, runs)}
    assert rows[('L-GM', '2-D balanced')]['verdict'] == 'parity'
    assert rows[('L-GM', '2-D balanced')]['paired']['diffs'] == pytest.approx([-0.2, 0.1, -0.1])
    assert rows[('L-GM', '100-D balanced')]['verdict'] == 'no parity'
    assert rows[('ICU', '2-D balanced')]['verdict'] == 'no parity'
    assert not rows[('ICU', '2-D balanced')]['gates']
    withheld = icu.withhold(study, runs)
    assert set(withheld) == {
        'Table 1 (MNIST 100-D): ICU beats L-GM',
        'Table 1 (MNIST 100-D): L-GM beats softmax',
    }
    assert 'no parity' in withheld['Table 1 (MNIST 100-D): ICU beats L-GM']
    md = '\n'.join(icu.parity_report(study, runs))
    assert md.startswith('# Reference parity') and 'Produced by `python ' in md
    assert '| L-GM 100-D balanced | L-GM reference 100-D balanced |' in md
    assert '**no parity** (cause: a real difference; known difference: likelihood term' in md


# every head (softmax, L-GM, its reference, ICU, the authors' classifier) at 2-D balanced
# (the feature figure, the parity report and the 2x baseline) and ICU at LT100 (the shot
# metrics); every arm's config is resolved in test_icu_variants
ICU_QUICK = [
    'L-GM 2-D balanced',
    'L-GM reference 2-D balanced',
    'ICU 2-D balanced',
    'ICU authors code 2-D balanced',
    'ICU 2-D LT100',
]


def test_icu_quick_end_to_end(tmp_path):
    work = tmp_path / 'runs'
    argv = ['--quick', '--jobs', '1', '--work-dir', str(work), '--out-dir', str(tmp_path)]
    md = icu.run(argv + ['--variants'] + ICU_QUICK)
    data = json.loads((tmp_path / 'icu_digits.json').read_text())
    # the arms asked for, the softmax baselines they are compared with and their 2x runs
    baselines = {'softmax 2-D balanced', 'softmax 2-D LT100'}
    assert {r['variant'] for r in data['runs']} == set(ICU_QUICK) | baselines | {
        b + ' (2x schedule)' for b in baselines
    }
    assert data['quick'] and len(data['runs']) == 9
    assert all(len(r['val']) == 4 for r in data['runs'])  # validated at 4 points
    lt100 = next(r for r in data['runs'] if r['variant'] == 'ICU 2-D LT100')
    assert {'class_acc/many', 'class_acc/medium', 'class_acc/few'} <= set(lt100['final'])
    assert (tmp_path / 'icu_digits.png').stat().st_size > 0
    assert (tmp_path / 'icu_digits_features.png').stat().st_size > 0
    assert '## Verdicts' in md and 'many / medium / few-shot' in md
    assert '## Schedule-length check' in md and 'Reference recipe' in md
    parity = (tmp_path / 'reference_parity.md').read_text()
    assert '| L-GM 2-D balanced | L-GM reference 2-D balanced |' in parity
