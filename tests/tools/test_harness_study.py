"""tools/studies/harness/ (study): the arms' checks, subsets and the schedule-length check,
the latter on fake training runs (no real training; see tests/tools/harness_helpers.py)."""

import dataclasses
import json

import pytest

from tests.tools.harness_helpers import CFG, leaf, make_study
from tools.studies import harness
from tools.studies.harness import report


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
