"""tools/studies/harness/ (runner, run cache) on fake training runs (no real training).

The fake "train" process (:data:`tests.tools.harness_helpers.FAKE_TRAIN`, the ``fake_runner``
fixture of ``conftest.py``) writes mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json``
with 4 validation records whose mIoU depends on the variant and seed, so the caching (run ids,
runs reused from a sibling study or renamed from the former key), the resume after a failure
and the scalars read back can be checked against numbers computed here by hand.
"""

import dataclasses
import json
import os
import os.path as osp
import shutil

import pytest

from tests.tools.harness_helpers import leaf, make_study
from tools.studies import harness


def test_runs_are_cached_and_a_failed_study_resumes(fake_runner):
    runs, calls = fake_runner
    study = make_study()
    (runs).mkdir()
    (runs / 'fail_worse').write_text('')
    with pytest.raises(RuntimeError, match='3 of 9 runs failed'):
        harness.Runner(study, str(runs), jobs=1).run()
    first = calls()
    assert sorted(first) == sorted(
        f'{v} {s}' for v in ('base', 'better', 'worse') for s in (0, 1, 2)
    )  # the healthy runs all finished
    (runs / 'fail_worse').unlink()
    records = harness.Runner(study, str(runs), jobs=2).run()
    again = calls()[len(first) :]
    # only the failed pairs ran again; the finished ones came from the cache
    assert sorted(again) == ['worse 0', 'worse 1', 'worse 2']
    assert [(r['variant'], r['seed']) for r in records] == [
        (v, s) for v in ('base', 'better', 'worse') for s in (0, 1, 2)
    ]
    n = len(calls())
    cached = harness.Runner(study, str(runs), jobs=2).run()
    assert len(calls()) == n and all(r['cached'] for r in cached)
    rec = cached[4]  # better, seed 1
    assert rec['final']['mIoU'] == 54 and [v['step'] for v in rec['val']] == [10, 20, 30, 40]
    assert rec['scalars'][-1] == [40, {'w/a': pytest.approx(0.3)}]
    assert rec['cpu_s'] >= 0 and rec['wall_s'] > 0


def test_a_run_of_a_sibling_study_with_the_same_key_is_reused(fake_runner):
    runs, _ = fake_runner
    first, second = runs / 'first', runs / 'second'
    harness.Runner(make_study(), str(first), jobs=1).run()
    study = make_study()
    study.name = 'second'
    # 'better': a new key; 'base' and 'worse' keep theirs
    study.variants[1] = dataclasses.replace(study.variants[1], config=leaf(a=5, s=1))
    records = harness.Runner(study, str(second), jobs=2).run()
    trained = (second / 'calls.txt').read_text().split()
    assert sorted(trained) == ['0', '1', '2', 'better', 'better', 'better']
    by = {(r['variant'], r['seed']): r for r in records}
    for seed in (0, 1, 2):
        rec = by[('base', seed)]
        assert rec['cached'] and rec['final']['mIoU'] == 50 + seed
        assert osp.dirname(rec['reused_from']).endswith('first')
        assert osp.basename(rec['reused_from']) == osp.basename(rec['run_dir'])
        assert osp.isfile(osp.join(second, osp.basename(rec['run_dir']), 'run.json'))
        assert not by[('better', seed)]['cached'] and 'reused_from' not in by[('better', seed)]
    # the copy is now the second study's own cache: nothing reruns, nothing is copied again
    again = harness.Runner(study, str(second), jobs=1).run()
    assert (second / 'calls.txt').read_text().split() == trained
    assert [r.get('reused_from') for r in again] == [r.get('reused_from') for r in records]


def test_a_changed_config_is_a_new_run(fake_runner):
    runs, calls = fake_runner
    study = make_study()
    harness.Runner(study, str(runs), jobs=1).run()
    n = len(calls())
    a = {'base': 1, 'better': 2, 'worse': 3}
    study.variants = [dataclasses.replace(v, config=leaf(a=a[v.name], s=2)) for v in study.variants]
    harness.Runner(study, str(runs), jobs=1).run()
    assert len(calls()) == 2 * n


def test_the_cache_key_is_the_merged_config_not_its_spelling(fake_runner):
    runs, calls = fake_runner
    harness.Runner(make_study(), str(runs), jobs=1).run()
    n = len(calls())
    # the same merged configs, spelled otherwise: a leaf on the baseline's leaf that sets a
    # value again, in a one-arm study, under another name
    moved = harness.Study(
        name='fake',
        title='Fake study',
        variants=[harness.Variant('the baseline', leaf(leaf(a=1, s=1), s=1))],
        seeds=(0, 1, 2),
        metrics=[('mIoU', 'mIoU')],
        claims=[],
        setup=['- fake'],
    )
    runner = harness.Runner(moved, str(runs), jobs=1)
    assert runner.run_id(moved.variants[0], 1) == harness.Runner(make_study(), '/x').run_id(
        make_study().variants[0], 1
    )
    records = runner.run()
    assert len(calls()) == n  # nothing trained: each run copied under its new name
    assert [r['final']['mIoU'] for r in records] == [50, 51, 52]
    assert all(osp.basename(r['reused_from']).startswith('base_seed') for r in records)
    # a leaf that changes the merged config is a new run
    changed = dataclasses.replace(moved.variants[0], config=leaf(leaf(a=1, s=1), s=2))
    assert harness.Runner(moved, str(runs)).run_id(changed, 0) != runner.run_id(
        moved.variants[0], 0
    )
    # seeds are part of the key, however the seed is set (here by a --quick option)
    assert runner.run_id(moved.variants[0], 0) != runner.run_id(moved.variants[0], 1)
    seeded = dataclasses.replace(moved.variants[0], quick=('randomness.seed=1',))
    quick = harness.Runner(moved, str(runs), quick=True)
    assert quick.run_id(seeded, 0) == runner.run_id(moved.variants[0], 1).replace('seed1', 'seed0')


def test_a_cache_named_by_the_former_key_is_found_and_adopted(fake_runner, capsys):
    runs, calls = fake_runner
    study = make_study()
    runner = harness.Runner(study, str(runs), jobs=1)
    runner.run()
    n = len(calls())
    # the folders as the former key (config digest, option strings, seed) named them
    pairs = [(v, s) for v in study.variants for s in study.seeds]
    legacy = {}
    for v, s in pairs:
        legacy[(v.name, s)] = runs / f'{v.slug}_{runner.legacy_id(v, s)}'
        os.rename(runner.run_dir(v, s), legacy[(v.name, s)])
    assert runner.legacy_id(*pairs[0]) != runner.run_id(*pairs[0])
    text = runner.plan()
    assert text.splitlines()[-1] == '0 to train, 0 cached, 9 copied (9 by the former key)'
    assert all(osp.isdir(p) for p in legacy.values())  # --plan alone moves nothing
    runner.plan(adopt=True)
    assert not any(osp.isdir(p) for p in legacy.values())
    assert (
        harness.Runner(study, str(runs)).plan().splitlines()[-1].startswith('0 to train, 9 cached')
    )
    records = harness.Runner(study, str(runs), jobs=2).run()
    assert len(calls()) == n and all(r['cached'] for r in records)
    base0 = records[0]
    assert osp.basename(base0['renamed_from']) == osp.basename(legacy[('base', 0)])
    assert base0['final']['mIoU'] == 50
    capsys.readouterr()


def test_a_former_key_folder_is_renamed_by_a_run_too(fake_runner):
    runs, calls = fake_runner
    study = make_study()
    runner = harness.Runner(study, str(runs), jobs=1)
    runner.run()
    n = len(calls())
    v = study.variants[1]
    old = runs / f'{v.slug}_{runner.legacy_id(v, 2)}'
    os.rename(runner.run_dir(v, 2), old)
    records = harness.Runner(study, str(runs), jobs=2).run()
    assert len(calls()) == n and not old.exists()
    assert records[5]['final']['mIoU'] == 55 and records[5]['renamed_from'].endswith(old.name)


def test_quick_runs_use_their_own_options(fake_runner):
    study = make_study()
    study.quick = ('q=1',)
    normal = harness.Runner(study, '/x').options(study.variants[1])
    quick = harness.Runner(study, '/x', quick=True).options(study.variants[1])
    assert normal == [] and quick == ['q=1']  # the arm's leaf config is what it trains
    assert harness.Runner(study, '/x').run_dir(study.variants[1], 0) != harness.Runner(
        study, '/x', quick=True
    ).run_dir(study.variants[1], 0)


def test_an_interrupted_attempt_is_not_read(fake_runner, tmp_path):
    runs, calls = fake_runner
    study = make_study()
    runner = harness.Runner(study, str(runs), jobs=1)
    run_dir = runner.run_dir(study.variants[0], 0)
    # a killed first attempt: an older timestamp with one validation, no run.json
    old = tmp_path / 'old.json'
    old.write_text(json.dumps({'mIoU': 99.0, 'step': 10}) + '\n')
    for d in (run_dir, str(tmp_path / 'two')):
        vis = osp.join(d, '20250101_000000', 'vis_data')
        os.makedirs(vis)
        shutil.copy(old, osp.join(vis, 'scalars.json'))
    rec = runner.run_one(study.variants[0], 0)
    assert [v['mIoU'] for v in rec['val']] == [20, 40, 49, 50]  # the fake's base curve
    assert not osp.exists(osp.join(run_dir, '20250101_000000'))
    # a folder holding both attempts: only the newest timestamp is read
    new = osp.join(tmp_path, 'two', '20260101_000000', 'vis_data')
    os.makedirs(new)
    with open(osp.join(new, 'scalars.json'), 'w') as f:
        f.write(json.dumps({'mIoU': 1.0, 'step': 10}) + '\n')
    assert harness.read_scalars(str(tmp_path / 'two'), 'mIoU')['val'] == [{'mIoU': 1.0, 'step': 10}]


def test_variant_quick_options_come_last(fake_runner):
    study = make_study()
    study.quick = ('q=1',)
    study.variants[1] = harness.Variant('better', leaf(a=2, s=1), 'base', quick=('v=1',))
    assert harness.Runner(study, '/x', quick=True).options(study.variants[1]) == ['q=1', 'v=1']
    assert harness.Runner(study, '/x').options(study.variants[1]) == []


def test_read_scalars_fills_an_empty_validation(tmp_path):
    # mmdet's CocoMetric returns no AP when nothing is detected: mmengine then logs a
    # validation record with the timings only
    d = tmp_path / '20260101_000000' / 'vis_data'
    d.mkdir(parents=True)
    lines = [
        {'loss': 2.0, 'lr': 0.1, 'time': 1.0, 'data_time': 0.1, 'step': 5},
        {'time': 0.5, 'data_time': 0.1, 'step': 5},
        {'coco/bbox_mAP_50': 0.25, 'time': 0.5, 'data_time': 0.1, 'step': 10},
    ]
    (d / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    key = 'coco/bbox_mAP_50'
    plain = harness.read_scalars(str(tmp_path), key)
    assert [v['step'] for v in plain['val']] == [10]  # without fill: unchanged behaviour
    filled = harness.read_scalars(str(tmp_path), key, fill={key: 0.0, 'coco/bbox_mAP': 0.0})
    assert [(v['step'], v[key], v['coco/bbox_mAP']) for v in filled['val']] == [
        (5, 0.0, 0.0),
        (10, 0.25, 0.0),
    ]
    assert filled['loss'] == [[5, 2.0]]
