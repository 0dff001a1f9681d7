"""tools/studies/harness/ (runner, report) on fake training runs (no real training).

The fake "train" process writes mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json``
with 4 validation records whose mIoU depends on the variant and seed, so the caching, the
resume after a failure, the statistics and the report can be checked against numbers
computed here by hand.
"""

import dataclasses
import json
import math
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from tools import REPO
from tools.studies import harness
from tools.studies.harness import report

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


@pytest.fixture
def fake_runner(tmp_path, monkeypatch):
    script = tmp_path / 'fake_train.py'
    script.write_text(FAKE_TRAIN)

    def command(self, variant, seed, run_dir):
        return [sys.executable, str(script), run_dir, variant.name, str(seed)]

    monkeypatch.setattr(harness.Runner, 'command', command)
    runs = tmp_path / 'runs'

    def calls():
        path = runs / 'calls.txt'
        return path.read_text().split('\n')[:-1] if path.exists() else []

    return runs, calls


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


def test_a_baseline_with_a_long_config_is_length_checked_with_it():
    study = make_study()
    assert not study.length_checked and study.length_variants() == {}
    long_cfg = 'configs/digits/yolov3_r18-tiny_1xb8-1k_digits-det.py'  # any other config
    study.variants[0] = dataclasses.replace(study.variants[0], long_config=long_cfg, quick=('q=1',))
    assert study.length_checked
    long = study.length_variant('base')
    assert (long.name, long.config, long.baseline, long.quick) == (
        'base (2x schedule)',
        long_cfg,
        None,
        ('q=1',),
    )
    runner = harness.Runner(study, '/x')
    assert runner.run_id(long, 0) != runner.run_id(study.variants[0], 0)
    # a baseline without a 2x leaf is not length-checked
    study.baselines = ['base', 'better']
    assert list(study.length_variants()) == ['base']
    with pytest.raises(ValueError, match='no long_config'):
        study.length_variant('better')


def test_quick_runs_use_their_own_options(fake_runner):
    study = make_study()
    study.quick = ('q=1',)
    normal = harness.Runner(study, '/x').options(study.variants[1])
    quick = harness.Runner(study, '/x', quick=True).options(study.variants[1])
    assert normal == [] and quick == ['q=1']  # the arm's leaf config is what it trains
    assert harness.Runner(study, '/x').run_dir(study.variants[1], 0) != harness.Runner(
        study, '/x', quick=True
    ).run_dir(study.variants[1], 0)


def test_report_statistics_and_verdicts(fake_runner, tmp_path):
    runs, _ = fake_runner
    study = make_study()
    records = harness.Runner(study, str(runs), jobs=2).run()
    md = report.write_report(
        study, records, str(tmp_path / 'out'), command='python fake.py', wall_s=60.0
    )
    data = json.loads((tmp_path / 'out' / 'fake.json').read_text())
    assert (tmp_path / 'out' / 'fake.png').stat().st_size > 0
    assert (tmp_path / 'out' / 'fake.md').read_text() == md
    assert 'Produced by `python fake.py`' in md
    # baseline: last interval 49 -> 50, gain 1.0 <= tol: converged, no warning
    assert data['convergence'][0]['gain'] == pytest.approx(1.0)
    assert data['convergence'][0]['converged'] and 'not converged' not in md
    by_name = {c['claim']: c for c in data['claims']}
    # better - base = 3 for every seed: sd 0, interval [3, 3]
    assert by_name['better is better']['diffs'] == [3.0, 3.0, 3.0]
    assert by_name['better is better']['verdict'] == 'reproduced'
    assert by_name['worse is better']['verdict'] == 'not reproduced'
    assert by_name['worse lowers worst']['verdict'] == 'reproduced'  # worstIoU 5 lower
    assert '| better | base | +3.00 | +3.00 | +3.00 | +3.00 [+3.00, +3.00] |' in md
    assert '| base | 51.00 ± 1.00 |' in md  # seeds 0, 1, 2 -> 50, 51, 52
    assert len(data['runs']) == 9 and all('command' in r for r in data['runs'])


def test_report_flags_an_unconverged_baseline(fake_runner, tmp_path):
    runs, _ = fake_runner
    study = make_study(converge_tol=0.5)
    records = harness.Runner(study, str(runs), jobs=2).run()
    md = report.write_report(study, records, str(tmp_path), command='c', wall_s=1.0)
    assert md.split('\n')[2].startswith('**Baseline not converged: base**')


def _long_study():
    study = make_study()
    # the baseline's 2x leaf
    study.variants[0] = dataclasses.replace(study.variants[0], long_config=leaf(a=1, s=2))
    return study


def test_length_check_trains_the_baseline_at_2x_on_one_seed(fake_runner, tmp_path):
    """A 2x run that moves by less than half the tolerance: one seed, converged, verdicts."""
    runs, calls = fake_runner
    study = _long_study()
    records = harness.Runner(study, str(runs), jobs=1).run()
    # the baseline's first-seed 2x run right after the baseline's own runs, before the arms
    assert calls() == ['base 0', 'base 1', 'base 2', 'base (2x schedule) 0'] + [
        f'{v} {s}' for v in ('better', 'worse') for s in (0, 1, 2)
    ]
    long = study.length_variant('base')
    assert long.config == leaf(a=1, s=2) and long.baseline is None
    # its own cache key: a rerun trains nothing
    assert all(r['cached'] for r in harness.Runner(study, str(runs), jobs=2).run())
    md = report.write_report(study, records, str(tmp_path), command='c', wall_s=1.0)
    data = json.loads((tmp_path / 'fake.json').read_text())
    assert '## Schedule-length check' in md
    assert '| base | 0 | 50.00 (iteration 40) | 50.20 (iteration 80) | +0.20 | yes |' in md
    row = data['length_check'][0]
    assert row['seeds'] == [0] and row['gain'] == pytest.approx(0.2) and row['converged']
    assert 'SCHEDULE TOO SHORT' not in md and 'withheld' not in md
    assert {c['verdict'] for c in data['claims']} == {'reproduced', 'not reproduced'}
    # the 2x run is listed with every run, not as an arm of the results table
    assert '| base (2x schedule) | 0 |' in md and '| base (2x schedule) | 5' not in md


def test_length_check_failure_trains_every_seed_and_withholds_the_verdicts(fake_runner, tmp_path):
    runs, calls = fake_runner
    runs.mkdir()
    (runs / 'long_gain').write_text('2.0')  # > tolerance 1.0 (and > its half)
    study = _long_study()
    records = harness.Runner(study, str(runs), jobs=1).run()
    # the single seed moved by 2 > 0.5: the other seeds train at 2x too, before the arms
    assert calls()[:6] == ['base 0', 'base 1', 'base 2'] + [
        f'base (2x schedule) {s}' for s in (0, 1, 2)
    ]
    assert [(r['variant'], r['seed']) for r in records][:9] == [
        (v, s) for v in ('base', 'better', 'worse') for s in (0, 1, 2)
    ]
    assert len(records) == 9 + 3
    md = report.write_report(study, records, str(tmp_path), command='c', wall_s=1.0)
    assert md.split('\n')[2].startswith('**SCHEDULE TOO SHORT: base moved by more than 1')
    assert '| base | 0, 1, 2 | 51.00 (iteration 40) | 53.00 (iteration 80) | +2.00 | **no** |' in md
    data = json.loads((tmp_path / 'fake.json').read_text())
    assert not data['length_check'][0]['converged']
    for c in data['claims']:
        assert c['verdict'] == 'withheld' and 'schedule-length check failed' in c['withheld']
    by_name = {c['claim']: c for c in data['claims']}
    assert by_name['better is better']['paired_verdict'] == 'reproduced'
    assert '**withheld** (schedule-length check failed (base))' in md
    assert 'Baseline not converged' not in md  # the last-interval check no longer decides


def test_a_study_can_withhold_single_verdicts(fake_runner, tmp_path):
    runs, _ = fake_runner
    study = make_study()
    study.withhold = lambda st, recs: {'better is better': 'no parity (reference_parity.md)'}
    records = harness.Runner(study, str(runs), jobs=2).run()
    md = report.write_report(study, records, str(tmp_path), command='c', wall_s=1.0)
    by_name = {c['claim']: c for c in json.loads((tmp_path / 'fake.json').read_text())['claims']}
    assert by_name['better is better']['verdict'] == 'withheld'
    assert by_name['worse is better']['verdict'] == 'not reproduced'
    assert '**withheld** (no parity (reference_parity.md))' in md
    # no long_config: no length check, and the report says so
    assert '## Schedule-length check\n\nNot run for this study' in md


def test_study_rejects_unknown_variants():
    v = [harness.Variant('a', CFG)]
    with pytest.raises(ValueError, match='unknown baseline'):
        harness.Study('s', 't', [harness.Variant('a', CFG, 'zz')], (0,), [], [], [])
    with pytest.raises(ValueError, match='unknown variant'):
        harness.Study('s', 't', v, (0,), [], [harness.Claim('c', 'a', 'b', 'mIoU')], [])
    with pytest.raises(ValueError, match='duplicate'):
        harness.Study('s', 't', v + v, (0,), [], [], [])


def test_subset_keeps_the_baselines_and_their_claims():
    fake = make_study()
    study = harness.Study(
        **{
            **vars(fake),
            'variants': fake.variants + [harness.Variant('chained', leaf(a=4), 'worse')],
            'claims': fake.claims
            + [harness.Claim('chained beats worse', 'chained', 'worse', 'mIoU')],
            'baselines': [],
        }
    )
    sub = study.subset(['chained'])
    # the baseline chain chained -> worse -> base is kept, 'better' is not
    assert [v.name for v in sub.variants] == ['base', 'worse', 'chained']
    assert [c.name for c in sub.claims] == [
        'worse is better',
        'worse lowers worst',
        'chained beats worse',
    ]
    assert sub.baselines == ['base', 'worse'] and len(study.variants) == 4
    with pytest.raises(ValueError, match='unknown variants'):
        study.subset(['nope'])


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


def test_variants_option_needs_quick(tmp_path):
    with pytest.raises(SystemExit, match='needs --quick'):
        harness.main(make_study(), __file__, ['--variants', 'better', '--work-dir', str(tmp_path)])


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


def test_report_scale(tmp_path):
    # metrics logged as fractions, reported in percent: scale 100 everywhere
    v = [harness.Variant('base', CFG), harness.Variant('m', leaf(a=1), 'base')]
    study = harness.Study(
        'frac',
        'Fractions',
        v,
        (0, 1),
        [('AP', 'ap')],
        [harness.Claim('m up', 'm', 'base', 'ap')],
        ['- x'],
        primary='ap',
        scale=100.0,
        converge_tol=1.0,
    )

    def rec(name, seed, curve):
        val = [{'ap': a, 'step': 10 * (k + 1)} for k, a in enumerate(curve)]
        return dict(
            variant=name,
            seed=seed,
            run_dir='r',
            command='tools/train.py c --work-dir r',
            wall_s=1.0,
            cpu_s=1.0,
            final=val[-1],
            val=val,
            loss=[],
            scalars=[],
        )

    runs = [
        rec('base', 0, [0.10, 0.200]),
        rec('base', 1, [0.10, 0.220]),
        rec('m', 0, [0.10, 0.230]),
        rec('m', 1, [0.10, 0.260]),
    ]
    md = report.write_report(study, runs, str(tmp_path), command='c', wall_s=1.0)
    assert '| base | 21.00 ± 1.41 |' in md  # 20 and 22 percent
    # paired differences 3 and 4 points; the baseline gained 11 > tol 1 in its last interval
    assert '| m | base | +3.00 | +4.00 | +3.50' in md
    assert md.split('\n')[2].startswith('**Baseline not converged: base**')
    data = json.loads((tmp_path / 'frac.json').read_text())
    assert data['convergence'][0]['gain'] == pytest.approx(11.0)
    assert data['claims'][0]['diffs'] == pytest.approx([3.0, 4.0])


def test_convergence_table_names_the_unit_and_mixed_steps():
    same = [
        dict(variant='a', steps=[6, 12], mean=[1.0, 2.5], gain=1.5, converged=False),
        dict(variant='b', steps=[6, 12], mean=[3.0, 3.5], gain=0.5, converged=True),
    ]
    lines = report.convergence_table(same, 'epoch')
    assert lines[0] == '| baseline | epoch 6 | epoch 12 | last gain | converged |'
    assert lines[2] == '| a | 1.00 | 2.50 | +1.50 | **no** |'
    assert lines[3] == '| b | 3.00 | 3.50 | +0.50 | yes |'
    # a baseline validated at other steps: columns are the k-th validation, cells name
    # their step, a shorter row is padded
    mixed = same + [dict(variant='c', steps=[24], mean=[9.0], gain=float('nan'), converged=False)]
    lines = report.convergence_table(mixed, 'epoch')
    assert lines[0].startswith('| baseline | validation 1 | validation 2 | last gain')
    assert lines[2] == '| a | 1.00 @ 6 | 2.50 @ 12 | +1.50 | **no** |'
    assert lines[4] == '| c | 9.00 @ 24 |  | +nan | **no** |'
    assert lines[-1] == '(`value @ step`: the step is in epochs.)'
    assert report.convergence_table([], 'epoch') == []


def test_a_pilot_without_claims_prints_no_empty_tables(fake_runner, tmp_path):
    runs, _ = fake_runner
    study = make_study()
    study.claims = []
    study.variants = [harness.Variant(v.name, v.config) for v in study.variants]
    study.baselines = [v.name for v in study.variants]
    study.step_unit = 'epoch'
    records = harness.Runner(study, str(runs), jobs=2).run()
    md = report.write_report(study, records, str(tmp_path), command='c', wall_s=1.0)
    assert 'None: no variant of this study has a baseline to pair with.' in md
    assert 'None: this study tests no claim of a paper (a pilot).' in md
    assert '| claim | method |' not in md and '| variant | baseline |' not in md
    assert '| baseline | epoch 10 | epoch 20 | epoch 30 | epoch 40 |' in md


def test_replot_redraws_the_figure_from_the_json_only(fake_runner, tmp_path):
    """``--replot`` rewrites the PNG from the report's JSON: no run is trained or read (the
    run folders are gone), the markdown and JSON stay byte for byte."""
    runs, calls = fake_runner
    study = make_study()
    out = tmp_path / 'out'
    records = harness.Runner(study, str(runs), jobs=2).run()
    report.write_report(study, records, str(out), command='c', wall_s=1.0)
    md, js = (out / 'fake.md').read_bytes(), (out / 'fake.json').read_bytes()
    (out / 'fake.png').unlink()
    shutil.rmtree(runs)
    argv = ['--replot', '--work-dir', str(runs), '--out-dir', str(out)]
    assert harness.main(study, __file__, argv) == str(out / 'fake.png')
    assert (out / 'fake.png').stat().st_size > 0
    assert (out / 'fake.md').read_bytes() == md and (out / 'fake.json').read_bytes() == js
    assert calls() == [] and not runs.exists()
    with pytest.raises(FileNotFoundError, match='no report to redraw'):
        harness.main(study, __file__, ['--replot', '--out-dir', str(tmp_path / 'none')])


def test_rereport_rewrites_the_markdown_from_the_json_only(fake_runner, tmp_path):
    """``--rereport`` recomputes the tables from the JSON's runs (no run trained or read),
    keeps the original provenance line and leaves arms defined since out."""
    runs, calls = fake_runner
    study = make_study()
    out = tmp_path / 'out'
    records = harness.Runner(study, str(runs), jobs=2).run()
    md = report.write_report(study, records, str(out), command='c', wall_s=1.0)
    produced = next(ln for ln in md.split('\n') if ln.startswith('Produced by '))
    shutil.rmtree(runs)
    n_calls = len(calls())
    grown = dataclasses.replace(
        study,
        variants=study.variants + [harness.Variant('new arm', leaf(a=4), 'base')],
        claims=study.claims + [harness.Claim('new arm is better', 'new arm', 'base', 'mIoU')],
    )
    argv = ['--rereport', '--work-dir', str(runs), '--out-dir', str(out)]
    new = harness.main(grown, __file__, argv)
    assert len(calls()) == n_calls and not runs.exists()
    line = next(ln for ln in new.split('\n') if ln.startswith('Produced by '))
    assert line.startswith(produced) and 'arms defined since and not run yet: new arm' in line
    assert '--rereport' in line and 'new arm' not in new.split('## Verdicts')[1]
    # a second re-report replaces the first one's provenance instead of appending to it
    again = harness.main(grown, __file__, argv)
    line = next(ln for ln in again.split('\n') if ln.startswith('Produced by '))
    assert line.startswith(produced) and line.count('re-reported') == 1
    # the same paired statistics as the original report
    for claim in ('better is better', 'worse is better'):
        row = next(ln for ln in md.split('\n') if ln.startswith(f'| {claim} |'))
        assert row in new
    gone = dataclasses.replace(study, variants=study.variants[:2], claims=study.claims[:1])
    with pytest.raises(ValueError, match="no longer defines: \\['worse'\\]"):
        harness.main(gone, __file__, argv)
    with pytest.raises(FileNotFoundError, match='no report to re-report'):
        harness.main(study, __file__, ['--rereport', '--out-dir', str(tmp_path / 'none')])


def _dead_pid():
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def _gone(pid):
    """Whether process ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except OSError:
        return True


def test_a_second_harness_of_the_study_is_refused_and_a_stale_lock_taken_over(tmp_path):
    runs = tmp_path / 'runs'
    lock_path = str(runs / harness.LOCK_NAME)
    with harness.StudyLock(str(runs)):
        assert open(lock_path).read().split()[0] == str(os.getpid())
        held = re.escape(lock_path) + f'.*PID {os.getpid()}'
        with pytest.raises(harness.StudyLocked, match=held):
            harness.StudyLock(str(runs)).acquire()
        # the study's main refuses too, before preparing or training anything
        with pytest.raises(SystemExit, match=held):
            harness.main(make_study(), __file__, ['--work-dir', str(runs)])
        # ... and so does a harness in another process
        probe = (
            'import sys; sys.path.insert(0, sys.argv[2]); from tools.studies import harness\n'
            'try:\n    harness.StudyLock(sys.argv[1]).acquire()\n'
            'except harness.StudyLocked as e:\n    print(e)\n'
        )
        out = subprocess.run(
            [sys.executable, '-c', probe, str(runs), REPO], capture_output=True, text=True
        )
        assert f'{lock_path} is held by PID {os.getpid()}' in out.stdout
    assert open(lock_path).read() == ''  # released: nothing to take over
    dead = _dead_pid()
    with open(lock_path, 'w') as f:
        f.write(f'{dead}\n')
    with pytest.warns(RuntimeWarning, match=f'taking over the stale lock of PID {dead}'):
        lock = harness.StudyLock(str(runs)).acquire()
    assert open(lock_path).read() == f'{os.getpid()}\n'
    lock.release()


HARNESS_SCRIPT = r'''
import os, sys
sys.path.insert(0, sys.argv[3])
from tools.studies import harness
from tools.studies.harness import cli

CHILD = """
import json, os, signal, subprocess, sys, time
run_dir, variant, out = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(out, 'calls.txt'), 'a') as f:
    f.write(variant + '\\n')
stop = []
if variant == 'stubborn':  # ignores the forwarded signal, and has a worker of its own
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
    with open(os.path.join(out, 'worker.pid'), 'w') as f:
        f.write(str(worker.pid))
else:  # ends its training cleanly when told to stop
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *a: stop.append(1))
with open(os.path.join(out, variant + '.pid'), 'w') as f:
    f.write(str(os.getpid()))
deadline = time.time() + 600
while not stop and time.time() < deadline:
    time.sleep(0.05)
d = os.path.join(run_dir, '20260101_000000', 'vis_data')
os.makedirs(d)
with open(os.path.join(d, 'scalars.json'), 'w') as f:
    f.write(json.dumps({'mIoU': 42.0, 'step': 10}) + '\\n')
"""


class FakeRunner(harness.Runner):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_grace_s = 1.0

    def command(self, variant, seed, run_dir):
        return [sys.executable, '-c', CHILD, run_dir, variant.name, sys.argv[2]]


cli.Runner = FakeRunner


def leaf(a):
    """A leaf config of the digits config setting ``a`` (each arm its own run id)."""
    path = os.path.join(os.path.dirname(sys.argv[1]), f'leaf_a{a}.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = {os.path.join(sys.argv[3], sys.argv[4])!r}\na = {a}\n')
    return path


study = harness.Study(
    'sig', 'Signals',
    [harness.Variant('stubborn', leaf(0)), harness.Variant('graceful', leaf(1)),
     harness.Variant('queued', leaf(2))],
    (0,), [('mIoU', 'mIoU')], [], ['- x'],
)
harness.main(study, __file__, ['--jobs', '2', '--work-dir', sys.argv[1], '--out-dir', sys.argv[2]])
'''


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_runs_and_records_the_finished_one(tmp_path, signum):
    """SIGTERM / SIGINT to the harness: both running trainings (and a training's own worker
    process) end, the queued run never starts, the training that finished on the signal has
    its run.json, and the harness exits with 128 + signal and a one-line message."""
    runs, out = tmp_path / 'runs', tmp_path / 'out'
    out.mkdir()
    script = tmp_path / 'study.py'
    script.write_text(HARNESS_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(runs), str(out), REPO, CFG],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    names = ('stubborn.pid', 'graceful.pid', 'worker.pid')
    try:
        deadline = time.time() + 120
        while not all((out / n).exists() and (out / n).read_text() for n in names):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, 'the fake trainings did not start'
            time.sleep(0.1)
        lock = runs / '.harness.lock'
        held = lock.read_text() if lock.exists() else ''
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
        _check_stopped(proc, stderr, signum, runs, out, [int((out / n).read_text()) for n in names])
        # while it ran, the lock file named the harness and the stubborn run's process group
        assert held.split('\n')[0] == str(proc.pid)
        assert (out / 'stubborn.pid').read_text() in held.split('\n')[1].split()
    finally:  # whatever the outcome, neither the harness nor a fake training outlives the test
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for n in names:
            pid = int((out / n).read_text()) if (out / n).exists() else 0
            if pid and not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def _check_stopped(proc, stderr, signum, runs, out, pids):
    assert proc.returncode == 128 + signum, stderr
    assert 'Traceback' not in stderr
    last = stderr.strip().splitlines()[-1]
    name = signal.Signals(signum).name
    assert last == (
        f'sig: interrupted by {name}: 1 of 3 runs finished (recorded), 1 stopped, '
        '1 not started; rerun to resume'
    )
    for pid in pids:  # no training (nor its worker) outlives the harness
        deadline = time.time() + 10
        while not _gone(pid) and time.time() < deadline:
            time.sleep(0.1)
        assert _gone(pid), pid
    assert (out / 'calls.txt').read_text().split() in (
        ['stubborn', 'graceful'],
        ['graceful', 'stubborn'],
    )
    done = [json.loads(p.read_text()) for p in runs.glob('*/run.json')]
    assert [(r['variant'], r['final']['mIoU']) for r in done] == [('graceful', 42.0)]
    assert not list(runs.glob('stubborn*/run.json'))
    assert (runs / '.harness.lock').read_text() == ''  # released


def _record(name, seed, value, key='ap'):
    val = [{key: value - 5.0, 'step': 10}, {key: value, 'step': 20}]
    return dict(
        variant=name,
        seed=seed,
        run_dir='r',
        command='tools/train.py c --work-dir r',
        wall_s=1.0,
        cpu_s=1.0,
        final=val[-1],
        val=val,
        loss=[],
        scalars=[],
    )


def _resolution_study(reference=''):
    v = [harness.Variant('base', CFG), harness.Variant('m', leaf(a=1), 'base')]
    claims = [
        harness.Claim('small', 'm', 'base', 'ap', paper_effect=0.46, paper_source='Table 2'),
        harness.Claim('large', 'm', 'base', 'ap', paper_effect=2.5),
        harness.Claim('no paper effect', 'm', 'base', 'ap'),
    ]
    return harness.Study(
        'res',
        'Resolution',
        v,
        (0, 1, 2),
        [('AP', 'ap')],
        claims,
        ['- x'],
        primary='ap',
        converge_tol=10.0,
        reference=reference,
    )


def test_report_states_the_smallest_detectable_effect_and_the_papers(tmp_path):
    from scipy.stats import t

    # differences 0.5, -0.3, 1.3: mean 0.5, sd 0.8, half-width t_{0.975, 2} 0.8 / sqrt(3)
    runs = [_record('base', s, 50.0) for s in (0, 1, 2)]
    runs += [_record('m', s, 50.0 + d) for s, d in zip((0, 1, 2), (0.5, -0.3, 1.3))]
    half = t.ppf(0.975, 2) * 0.8 / math.sqrt(3)  # 1.987
    # seeds that resolve 0.46 at sd 0.8: the first n with t_{0.975, n-1} 0.8 / sqrt(n) < 0.46
    need = next(n for n in range(2, 51) if t.ppf(0.975, n - 1) * 0.8 / math.sqrt(n) < 0.46)
    assert need == 15  # n = 14: 2.1604 * 0.8 / 3.7417 = 0.4619; n = 15: 2.1448 * 0.8 / 3.873
    study = _resolution_study(reference='Recipe followed:\n- the paper, Sec. 4\n')
    md = report.write_report(study, runs, str(tmp_path), command='c', wall_s=1.0)
    claims = {c['claim']: c for c in json.loads((tmp_path / 'res.json').read_text())['claims']}
    assert claims['small']['smallest_detectable'] == pytest.approx(half)
    assert claims['small']['verdict'] == "below this proxy's resolution"
    assert claims['small']['seeds_needed'] == need and claims['small']['paper_effect'] == 0.46
    assert claims['large']['verdict'] == 'inconclusive'  # 2.5 > 1.99: it would have shown
    assert claims['no paper effect']['verdict'] == 'inconclusive'
    assert claims['no paper effect']['paper_effect'] is None
    assert "| smallest detectable effect | paper's effect | verdict |" in md
    assert (
        '| small | m | base | ap ↑ | +0.50 [-1.49, +2.49] | ±1.99 | +0.46 (Table 2) | '
        "**below this proxy's resolution** (15 seeds would resolve +0.46 at this spread) |"
    ) in md
    assert (
        '| large | m | base | ap ↑ | +0.50 [-1.49, +2.49] | ±1.99 | +2.50 | **inconclusive** |'
        in md
    )
    assert '| ±1.99 | not given | **inconclusive** |' in md
    assert '## Reference recipe\n\n```text\nRecipe followed:\n- the paper, Sec. 4\n```' in md


def test_report_warns_about_a_study_without_a_reference_block(tmp_path):
    runs = [_record(v, s, 50.0 + s) for v in ('base', 'm') for s in (0, 1, 2)]
    with pytest.warns(UserWarning, match='res: no REFERENCE block'):
        md = report.write_report(_resolution_study(), runs, str(tmp_path), command='c', wall_s=1)
    assert '## Reference recipe\n\n**No `REFERENCE` block**' in md
