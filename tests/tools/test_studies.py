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
    assert tilts == {'TCE image t=0.1': ('image', 0.1), 'TCE image t=1': ('image', 1.0),
                     'TCE class t=0': ('class', 0.0), 'TCE class t=0.1': ('class', 0.1),
                     'TCE class t=1': ('class', 1.0), 'TCE class t=5': ('class', 5.0),
                     'Stochastic TCE t=0.1': 0.1, 'Stochastic TCE t=1': 1.0}


def test_tce_quick_end_to_end(tmp_path):
    work = tmp_path / 'runs'
    md = tce.run(['--quick', '--jobs', '2', '--work-dir', str(work), '--out-dir',
                  str(tmp_path)])
    data = json.loads((tmp_path / 'tce_digits.json').read_text())
    assert data['quick'] and len(data['runs']) == len(tce.STUDY.variants)
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


@pytest.mark.parametrize('script', [fb_frcnn, fb_mixup], ids=['table3', 'table1-reduced'])
def test_freebies_quick_end_to_end(script, tmp_path):
    # detection mAP through the harness: fractions reported in percent, a validation that
    # detects nothing counts as AP 0; the Table 2 configs' freebies are all in the
    # 'whole bag' variant of the mixup study (each Table 2 config is built in
    # test_freebies_digits.py)
    study = script.STUDY
    md = script.run(['--quick', '--jobs', '2', '--work-dir', str(tmp_path / 'runs'),
                     '--out-dir', str(tmp_path)])
    data = json.loads((tmp_path / f'{study.name}.json').read_text())
    assert data['quick'] and len(data['runs']) == len(study.variants)
    for r in data['runs']:
        steps = [v['step'] for v in r['val']]
        assert len(steps) == 4 and steps == sorted(set(steps))  # 4 distinct validations
        assert 0.0 <= r['final']['coco/bbox_mAP_50'] <= 1.0
    assert (tmp_path / f'{study.name}.png').stat().st_size > 0
    assert '## Verdicts' in md and '| mAP@0.5 | mAP@[.5:.95] | mAP@0.75 |' in md
