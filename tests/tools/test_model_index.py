"""The OpenMMLab model index (``model-index.yml`` + ``configs/*/metafile.yml``)."""

import glob
import json
import os
import os.path as osp

import pytest
import yaml

from tests.scripts import REPO, load_script

model_index = load_script('tools/model_index.py')
model_index_data = load_script('tools/model_index_data.py')


def _configs_on_disk():
    out = set()
    for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True):
        rel = osp.relpath(path, REPO)
        if '_base_' not in rel.split(os.sep):
            out.add(rel.replace(os.sep, '/'))
    return out


def test_index_lists_every_config_exactly_once():
    from modelindex.load_model_index import load  # what `mim search` reads

    models = load(osp.join(REPO, 'model-index.yml')).models
    listed = [m.config for m in models]
    assert len(listed) == len(set(listed))
    assert set(listed) == _configs_on_disk()
    assert model_index.index_problems(osp.join(REPO, 'model-index.yml')) == []
    for m in models:  # schema of mmdet / mmseg metafiles
        assert m.name == osp.splitext(osp.basename(m.config))[0]
        assert m.in_collection
        for result in m.results or []:
            assert result.task and result.dataset and result.metrics


def test_index_problems_names_a_missing_and_an_unknown_config(tmp_path):
    """A tampered copy: one entry removed, one entry naming a config that does not exist."""
    meta = yaml.safe_load(open(osp.join(REPO, 'configs', 'tilted_ce', 'metafile.yml')))
    dropped = meta['Models'].pop(0)['Config']
    meta['Models'].append(
        dict(
            Name='ghost',
            Config='configs/tilted_ce/ghost.py',
            **{'In Collection': 'Tilted Cross-Entropy'},
        )
    )
    (tmp_path / 'meta.yml').write_text(yaml.safe_dump(meta))
    index = yaml.safe_load(open(osp.join(REPO, 'model-index.yml')))
    index['Import'] = [
        osp.join(REPO, p) if 'tilted_ce' not in p else str(tmp_path / 'meta.yml')
        for p in index['Import']
    ]
    (tmp_path / 'model-index.yml').write_text(yaml.safe_dump(index))
    problems = model_index.index_problems(str(tmp_path / 'model-index.yml'))
    assert problems == [
        'configs/tilted_ce/ghost.py: listed but not a file',
        f'{dropped}: not in the index',
    ]


def test_committed_index_is_current_and_check_detects_a_stale_one(monkeypatch, capsys):
    assert model_index.main(['--check']) == 0
    key = 'bag_of_freebies/yolov3_d53_baseline_8xb8-200e_voc0712.py'
    stale = dict(model_index.PAPER_RESULTS[key], metrics={'mAP': 1.0})
    monkeypatch.setitem(model_index.PAPER_RESULTS, key, stale)
    assert model_index.main(['--check']) == 1
    assert 'configs/bag_of_freebies/metafile.yml' in capsys.readouterr().out


def test_data_files_hold_the_collections_and_are_no_metafiles():
    """Each configs folder has its ``paper_results.yml``; the index imports the metafiles only."""
    tops = {c.split('/')[1] for c in _configs_on_disk()}
    data = glob.glob(osp.join(REPO, 'configs', '*', model_index_data.DATA_FILE))
    assert {osp.basename(osp.dirname(p)) for p in data} == tops
    assert set(model_index.COLLECTIONS) == tops
    index = yaml.safe_load(open(osp.join(REPO, 'model-index.yml')))
    assert index['Import'] == [f'configs/{top}/metafile.yml' for top in sorted(tops)]
    # the committed Results From strings are 'paper: <Cited As>, <Where>' of the data file
    bof = yaml.safe_load(open(osp.join(REPO, 'configs', 'bag_of_freebies', 'paper_results.yml')))
    row = bof['Results']['yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py']
    assert row == {'Where': 'Table 2, + mixup', 'Metrics': {'mAP': 83.68}}
    assert model_index.PAPER_RESULTS[
        'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py'
    ] == dict(source=bof['Cited As'], where=row['Where'], metrics=row['Metrics'])


GOOD = """\
Collection:
  Name: P
  Architecture: [A]
  Paper: {Title: T, Authors: X, URL: 'https://example.org'}
Cited As: X et al.
Results:
  sub/a_r50_1xb2-1x_coco.py:
    Where: Table 1
    Metrics: {mAP: 40.5}
"""


@pytest.mark.parametrize(
    'change, message',
    [
        (
            ('mAP: 40.5', 'mAP: high'),
            "Results.sub/a_r50_1xb2-1x_coco.py.Metrics.mAP: expected a number, got 'high'",
        ),
        (('mAP: 40.5', "mAP: '40.5'"), 'Metrics.mAP: expected a number'),
        (('    Where: Table 1\n', ''), 'Results.sub/a_r50_1xb2-1x_coco.py: missing Where'),
        (
            ('Where:', 'Wehre:'),
            "Results.sub/a_r50_1xb2-1x_coco.py: missing Where; unknown key(s) ['Wehre']",
        ),
        (('Cited As: X et al.\n', ''), 'Cited As: missing'),
        (('URL: ', 'Link: '), 'Collection.Paper: missing URL'),
        (('Architecture: [A]', 'Architecture: A'), 'Collection.Architecture: expected a non-empty'),
        (('sub/a_r50', 'sub/b_r50'), 'Results.sub/b_r50_1xb2-1x_coco.py: no such config'),
        (
            (
                'Results:\n',
                'Results:\n  sub/a_r50_1xb2-1x_coco.py: {Where: T, Metrics: {m: 1.0}}\n',
            ),
            "duplicate key 'sub/a_r50_1xb2-1x_coco.py'",
        ),
        (('Name: P', 'Name: [P'), 'not valid YAML'),
    ],
)
def test_malformed_data_file_names_the_file_and_the_key(tmp_path, change, message):
    folder = tmp_path / 'configs' / 'paper'
    (folder / 'sub').mkdir(parents=True)
    (folder / 'sub' / 'a_r50_1xb2-1x_coco.py').write_text('')
    path = folder / model_index_data.DATA_FILE
    path.write_text(GOOD)
    coll, rows = model_index_data.load_paper_data(str(path), str(tmp_path))
    assert coll['Paper'] == dict(Title='T', Authors='X', URL='https://example.org')
    assert coll['README'] == 'configs/paper/README.md'
    assert rows == {
        'paper/sub/a_r50_1xb2-1x_coco.py': dict(
            source='X et al.', where='Table 1', metrics={'mAP': 40.5}
        )
    }
    old, new = change
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(model_index_data.PaperDataError) as err:
        model_index_data.load_paper_data(str(path), str(tmp_path))
    assert str(err.value).startswith('configs/paper/paper_results.yml: ')
    assert message in str(err.value)


def test_paper_rows_carry_the_papers_numbers_and_no_weights():
    meta = yaml.safe_load(open(osp.join(REPO, 'configs', 'bag_of_freebies', 'metafile.yml')))
    assert (
        meta['Collections'][0]['Paper']['Title']
        == 'Bag of Freebies for Training Object Detection Neural Networks'
    )
    row = {m['Name']: m for m in meta['Models']}[
        'yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712'
    ]
    # Table 2 of the paper, "+ mixup": 83.68 mAP@0.5 on VOC07 test
    assert row['Results'] == [
        dict(Task='Object Detection', Dataset='Pascal VOC 2007+2012', Metrics={'mAP': 83.68})
    ]
    assert row['Metadata']['Results From'].startswith('paper: ')
    assert 'Weights' not in row
    # a full-scale config the paper gives no number for has no Results
    plain = {m['Name']: m for m in meta['Models']}['yolov3_d53_syncbn_8xb8-273e_coco']
    assert 'Results' not in plain


def _run(config, seed, schedule, extra, final):
    opts = ' '.join([f'randomness.seed={seed}', *schedule, *extra])
    return dict(
        variant='v',
        seed=seed,
        run_dir=f'work_dirs/s/{seed}',
        command=f'tools/train.py {config} --work-dir x --cfg-options {opts}',
        final=final,
    )


def test_harness_study_regenerates_the_digits_entries(tmp_path):
    """A study JSON as the harness writes it (e.g. a rerun balance_batch_digits.json)."""
    cfg = 'configs/balance_batch/digits/deeplabv3plus_r18-tiny_ce-bb-cl11_1xb8-2k_digits-seg.py'
    sched = ['train_cfg.max_iters=40', 'default_hooks.logger.interval=1']
    runs = [
        _run(cfg, 0, sched, [], {'mIoU': 50.0, 'worstIoU': 10.0}),
        _run(cfg, 1, sched, [], {'mIoU': 53.0, 'worstIoU': 20.0}),
        # batch_cl=11 is the config's own value: the same config
        _run(
            cfg,
            2,
            sched,
            ['train_dataloader.batch_sampler.batch_cl=11'],
            {'mIoU': 56.0, 'worstIoU': 30.0},
        ),
        # another batch_cl is another arm, not this config
        _run(
            cfg,
            0,
            sched,
            ['train_dataloader.batch_sampler.batch_cl=6'],
            {'mIoU': 99.0, 'worstIoU': 99.0},
        ),
    ]
    path = tmp_path / 'balance_batch_digits.json'
    path.write_text(
        json.dumps(
            dict(
                study='balance_batch_digits',
                command='python tools/experiments/bb.py',
                quick=False,
                schedule=sched,
                runs=runs,
            )
        )
    )
    got = model_index.harness_results(str(path))
    assert list(got) == [cfg.replace('configs/', '', 1)]
    entry = got[cfg.replace('configs/', '', 1)]
    assert entry['metrics'] == {'mIoU': 53.0, 'worstIoU': 20.0}  # (50+53+56)/3, (10+20+30)/3
    assert entry['weights'] == 'work_dirs/s/0/iter_40.pth'
    assert entry['command'] == 'python tools/experiments/bb.py'
    # a kept copy of a superseded run (the file named otherwise) never reaches the index
    kept = tmp_path / 'balance_batch_digits_first_run.json'
    kept.write_text(path.read_text())
    assert model_index.is_kept_copy(str(kept), json.loads(kept.read_text()))
    assert model_index.harness_results(str(kept)) == {}
    # a --quick smoke run never reaches the index
    path.write_text(
        json.dumps(
            dict(study='balance_batch_digits', command='c', quick=True, schedule=sched, runs=runs)
        )
    )
    assert model_index.harness_results(str(path)) == {}


def test_harness_study_of_leaf_configs_gives_each_leaf_its_runs(tmp_path):
    """A study whose arms are leaf configs (no schedule options, e.g. the Balance-batch study
    once rerun): a run of a leaf with the seed only is that leaf; the checkpoint is named by
    the leaf's own max_iters."""
    study = (
        'configs/balance_batch/digits/study/deeplabv3plus_r18-tiny_{}_1xb8-4k_digits-seg-48x48.py'
    )
    ce, bb = study.format('ce'), study.format('ce-bb-cl6')
    runs = [
        _run(ce, 0, [], [], {'mIoU': 50.0}),
        _run(ce, 1, [], [], {'mIoU': 52.0}),
        _run(bb, 0, [], [], {'mIoU': 40.0}),
    ]
    path = tmp_path / 'balance_batch_digits.json'
    path.write_text(
        json.dumps(
            dict(
                study='balance_batch_digits',
                command='python -m s --jobs 2',
                quick=False,
                schedule=[],
                runs=runs,
            )
        )
    )
    got = model_index.harness_results(str(path))
    assert sorted(got) == sorted(c.replace('configs/', '', 1) for c in (ce, bb))
    entry = got[ce.replace('configs/', '', 1)]
    assert entry['metrics'] == {'mIoU': 51.0}
    assert entry['setting'] == 'mean of seeds [0, 1]; the config as it is'
    assert entry['weights'] == 'work_dirs/s/0/iter_4000.pth'


def test_unknown_dataset_name_fails_with_the_fix():
    with pytest.raises(ValueError, match='add it to DATASETS'):
        model_index.task_dataset('x/foo_r50_1xb2-1x_kitti.py')


def test_harness_record_naming_its_config_counts_for_it_in_percent(tmp_path):
    """A run adopted from before its arm was a leaf config: its command names the former
    config and options, its record the leaf (``config``); detection metrics are fractions in
    the logs and percent in the index."""
    leaf = (
        'configs/bag_of_freebies/digits/study/faster-rcnn_r18-tiny-fpn_cosine_1xb8-2k_digits-det.py'
    )
    old = 'configs/bag_of_freebies/digits/faster-rcnn_r18-tiny-fpn_cosine_1xb8-1k_digits-det.py'
    runs = [
        dict(_run(old, 0, ['train_cfg.max_iters=2000'], [], {}), config=leaf),
        dict(_run(old, 1, ['train_cfg.max_iters=2000'], [], {}), config=leaf),
    ]
    runs[0]['final'] = {'coco/bbox_mAP_50': 0.95, 'coco/bbox_mAP': 0.75, 'coco/bbox_mAP_75': 0.9}
    runs[1]['final'] = {'coco/bbox_mAP_50': 0.93, 'coco/bbox_mAP': 0.70, 'coco/bbox_mAP_75': 0.9}
    path = tmp_path / 'freebies_frcnn_digits.json'
    path.write_text(
        json.dumps(
            dict(study='freebies_frcnn_digits', command='python -m s', quick=False, runs=runs)
        )
    )
    got = model_index.harness_results(str(path))
    assert list(got) == [leaf.replace('configs/', '', 1)]
    entry = got[leaf.replace('configs/', '', 1)]
    # (95 + 93) / 2, (75 + 70) / 2, 90
    assert entry['metrics'] == {'bbox_mAP': 72.5, 'bbox_mAP_50': 94.0, 'bbox_mAP_75': 90.0}
    assert entry['weights'] == 'work_dirs/s/0/iter_2000.pth'  # the leaf's own max_iters
