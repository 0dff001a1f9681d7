"""The study files of tools/experiments: every variant's config resolves with its options,
the settings are fixed in the file, and ``--quick`` runs the Tilted-CE study end to end
(harness, real tools/train.py runs, report, plot) -- a check of the path, not the numbers."""

import argparse
import json
import os.path as osp

import pytest
from mmengine.config import Config, DictAction

from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
bb = load_script('tools/experiments/balance_batch_digits.py')
tce = load_script('tools/experiments/tce_digits.py')
icu = load_script('tools/experiments/icu_digits.py')
fb_mixup = load_script('tools/experiments/freebies_mixup_digits.py')
fb_frcnn = load_script('tools/experiments/freebies_frcnn_digits.py')


def resolved(study, variant, tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    opts = parser.parse_args(['--cfg-options', *study.schedule, *variant.options]).cfg_options
    cfg = Config.fromfile(osp.join(REPO, variant.config))
    cfg.merge_from_dict(opts)
    return cfg


def test_balance_batch_variants(tmp_path):
    study = bb.STUDY
    assert study.seeds == (0, 1, 2)
    for v in study.variants:
        cfg = resolved(study, v, tmp_path)
        assert cfg.train_cfg.max_iters == 4000 and cfg.train_cfg.val_interval == 1000
        assert cfg.optim_wrapper.optimizer.lr == 2e-3  # the configs' own lr for every arm
        assert cfg.model.auxiliary_head is None
        assert cfg.model.backbone.base_channels == 16 and cfg.model.decode_head.channels == 64
        assert cfg.model.decode_head.norm_cfg.type == 'GN'
        sampler = cfg.train_dataloader.get('batch_sampler')
        if ' + BB' in v.name:
            assert sampler.type == 'mmext.BalanceBatchSampler'
            assert cfg.train_dataloader.batch_size == 8
            assert sampler.get('fixed_size', False) == ('fixed-size' in v.name)
        else:
            assert sampler is None
            expected = int(v.name.split('batch ')[1]) if ' batch ' in v.name else 8
            assert cfg.train_dataloader.batch_size == expected
        loss = cfg.model.decode_head.loss_decode
        if 'per-image' in v.name:
            assert loss.per_image is True
    names = [v.name for v in study.variants]
    for label in ('CE', 'Soft Dice', 'Soft IoU'):
        assert f'{label} batch {bb.CONTROL_BATCH[11]}' in names
        assert f'{label} + BB fixed-size cl{bb.FIXED_CL}' in names
    assert {f'CE + BB cl{k}' for k in (6, 8, 11)} <= set(names)


def test_tce_variants(tmp_path):
    study = tce.STUDY
    tilts = {}
    for v in study.variants:
        if v.name == 'Focal':
            continue  # needs the alpha file; covered by the quick run
        cfg = resolved(study, v, tmp_path)
        assert cfg.train_cfg.max_iters == 4000 and cfg.optim_wrapper.optimizer.lr == 2e-3
        assert cfg.model.backbone.base_channels == 16 and cfg.model.auxiliary_head.channels == 32
        loss = cfg.model.decode_head.loss_decode
        if v.name.startswith('TCE'):
            tilts[v.name] = (loss.level, loss.tilt)
        if v.name.startswith('Stochastic'):
            assert cfg.train_dataloader.batch_sampler.exclude_classes == [0]
            tilts[v.name] = cfg.custom_hooks[0].tilt
    assert tilts == {
        'TCE image t=0.1': ('image', 0.1),
        'TCE image t=1': ('image', 1.0),
        'TCE class t=0': ('class', 0.0),
        'TCE class t=0.1': ('class', 0.1),
        'TCE class t=1': ('class', 1.0),
        'TCE class t=5': ('class', 5.0),
        'Stochastic TCE t=0.1': 0.1,
        'Stochastic TCE t=1': 1.0,
    }


# one arm per loss (CE, Focal with the alpha file, image-, class-level and Stochastic TCE;
# class-level t=1 is compared with t=0, so both run); every arm's config is resolved in
# test_tce_variants
TCE_QUICK = [
    'CE',
    'Focal',
    'TCE image t=1',
    'TCE class t=0',
    'TCE class t=1',
    'Stochastic TCE t=1',
]


def test_tce_quick_end_to_end(tmp_path):
    work = tmp_path / 'runs'
    argv = ['--quick', '--jobs', '2', '--work-dir', str(work), '--out-dir', str(tmp_path)]
    md = tce.run(argv + ['--variants'] + TCE_QUICK)
    data = json.loads((tmp_path / 'tce_digits.json').read_text())
    assert data['quick'] and [r['variant'] for r in data['runs']] == TCE_QUICK
    assert all(len(r['val']) == 4 for r in data['runs'])  # validated at 4 points
    assert (tmp_path / 'tce_digits.png').stat().st_size > 0
    assert '## Verdicts' in md and 'Table 3' in md
    # the weight-range section is there (4 quick iterations log no weights yet; the rows
    # come from hook scalars, checked in test_experiment_harness.py)
    weights = md.split('## Stochastic TCE class weights')[1].split('##')[0]
    assert '| variant | seed | min w over training |' in weights


def test_control_batch_sizes_are_the_rounded_balance_batch_means():
    sizes = bb.mean_batch_sizes()
    assert set(sizes) == set(bb.SWEEP_CL)
    for cl, mean in sizes.items():
        assert 1 <= mean <= bb.BATCH
        assert bb.CONTROL_BATCH[cl] == int(round(mean)), (cl, mean)
    # fixed-size mode: exactly batch_max images, i.e. the baseline's batch size
    assert bb.mean_batch_sizes((bb.FIXED_CL,), epochs=2, fixed=True) == {bb.FIXED_CL: bb.BATCH}


def test_icu_variants(tmp_path):
    """The ICU study's grid, one schedule for every arm, the arms' heads, the shot metric
    and no weight decay on the Gaussian parameters."""
    study = icu.STUDY
    assert study.seeds == (0, 1, 2) and study.primary == 'accuracy/top1'
    names = {v.name for v in study.variants}
    for setting in ('2-D balanced', '2-D LT100'):
        assert {f'{m} {setting}' for m in icu.METHODS} <= names
    for setting in ('2-D LT10', '100-D balanced', '100-D LT100'):
        assert {f'{m} {setting}' for m in ('softmax', 'L-GM', 'ICU')} <= names
    # the post-hoc arm (Eq. 14 on the parameters only) at 2-D / 100-D, balanced / LT100
    for setting in ('2-D balanced', '2-D LT100', '100-D balanced', '100-D LT100'):
        assert f'ICU params-only reg {setting}' in names
    assert len(study.variants) == 25
    for v in study.variants:
        cfg = resolved(study, v, tmp_path)
        assert cfg.train_cfg.max_iters == icu.ITERS
        assert cfg.train_cfg.val_interval * 4 == icu.ITERS
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.train_dataloader.batch_size == icu.BATCH
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys['.means'].decay_mult == 0.0
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys['.log_vars'].decay_mult == 0.0
        dim = 100 if v.name.split()[-2] == '100-D' else 2
        assert cfg.model.backbone.out_channels == dim == cfg.model.head.in_channels
        ratio = 1.0 if v.group.endswith('balanced') else float(v.group.split('LT')[1])
        ds = cfg.train_dataloader.dataset
        assert ds.imbalance_ratio == ratio
        assert ds.data_root == cfg.val_dataloader.dataset.data_root
        metric = cfg.val_evaluator[2]
        assert metric.type == 'mmext.ClassAccuracyMetric'
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
            assert head.type == 'LinearClsHead'
        elif method == 'L-GM':
            assert head.mode == 'lgm' and head.lambda_mu == head.lambda_sigma == 0.0
        else:
            assert head.get('mode', 'icu') == 'icu'
            assert (head.alpha, head.gamma) == {
                'ICU no alpha': (0.0, 1e-3),
                'ICU no gamma': (1e-4, 0.0),
            }.get(method, (1e-4, 1e-3))
            assert (head.lambda_mu == 0.0) == (method == 'ICU no reg')
            assert head.get('reg_to_features', True) == (method != 'ICU params-only reg')


# every head (softmax, L-GM, ICU, ICU without Eq. 14 on the features) at 2-D and 100-D,
# balanced (the feature figure) and LT100 (the shot metrics); every arm's config is resolved
# in test_icu_variants
ICU_QUICK = [
    'softmax 2-D balanced',
    'L-GM 2-D balanced',
    'ICU 2-D balanced',
    'ICU 2-D LT100',
    'ICU params-only reg 100-D LT100',
]


def test_icu_quick_end_to_end(tmp_path):
    work = tmp_path / 'runs'
    argv = ['--quick', '--jobs', '2', '--work-dir', str(work), '--out-dir', str(tmp_path)]
    md = icu.run(argv + ['--variants'] + ICU_QUICK)
    data = json.loads((tmp_path / 'icu_digits.json').read_text())
    # the arms asked for and the softmax baselines they are compared with
    assert {r['variant'] for r in data['runs']} == set(ICU_QUICK) | {
        'softmax 2-D LT100',
        'softmax 100-D LT100',
    }
    assert data['quick'] and len(data['runs']) == 7
    assert all(len(r['val']) == 4 for r in data['runs'])  # validated at 4 points
    lt100 = next(r for r in data['runs'] if r['variant'] == 'ICU 2-D LT100')
    assert {'class_acc/many', 'class_acc/medium', 'class_acc/few'} <= set(lt100['final'])
    assert (tmp_path / 'icu_digits.png').stat().st_size > 0
    assert (tmp_path / 'icu_digits_features.png').stat().st_size > 0
    assert '## Verdicts' in md and 'many / medium / few-shot' in md


# Table 3: every arm; Table 1: the reduced-data whole bag (weighted mixup, random shapes,
# cosine, label smoothing, `indices`) with its baseline (the Table 1 mixup arms differ from
# it by options checked in test_freebies_digits.py)
QUICK_ARMS = {'table3': None, 'table1-reduced': ['whole bag, 250 images']}


@pytest.mark.parametrize(
    'script, arms',
    [(fb_frcnn, QUICK_ARMS['table3']), (fb_mixup, QUICK_ARMS['table1-reduced'])],
    ids=list(QUICK_ARMS),
)
def test_freebies_quick_end_to_end(script, arms, tmp_path):
    # detection mAP through the harness: fractions reported in percent, a validation that
    # detects nothing counts as AP 0; the Table 2 configs' freebies are all in the
    # 'whole bag' variant of the mixup study (each Table 2 config is built in
    # test_freebies_digits.py)
    study = script.STUDY if arms is None else script.STUDY.subset(arms)
    argv = [
        '--quick',
        '--jobs',
        '2',
        '--work-dir',
        str(tmp_path / 'runs'),
        '--out-dir',
        str(tmp_path),
    ]
    md = script.run(argv + ([] if arms is None else ['--variants'] + arms))
    data = json.loads((tmp_path / f'{study.name}.json').read_text())
    got = [r['variant'] for r in data['runs']]
    assert data['quick'] and got == [v.name for v in study.variants]
    if arms is not None:  # the arms asked for and their baselines, in the study's order
        assert got == ['baseline, 250 images', arms[0]]
    for r in data['runs']:
        steps = [v['step'] for v in r['val']]
        assert len(steps) == 4 and steps == sorted(set(steps))  # 4 distinct validations
        assert 0.0 <= r['final']['coco/bbox_mAP_50'] <= 1.0
    assert (tmp_path / f'{study.name}.png').stat().st_size > 0
    assert '## Verdicts' in md and '| mAP@0.5 | mAP@[.5:.95] | mAP@0.75 |' in md
