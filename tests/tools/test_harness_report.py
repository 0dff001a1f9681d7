"""tools/studies/harness/ (report, stats, cli's ``--replot`` / ``--rereport``) on fake
training runs (no real training; see tests/tools/harness_helpers.py) and on run records
written here: the statistics, verdicts and tables are checked against numbers computed by
hand."""

import dataclasses
import json
import math
import shutil

import pytest

from tests.tools.harness_helpers import CFG, leaf, make_study
from tools.studies import harness
from tools.studies.harness import report


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


def test_variants_option_needs_quick(tmp_path):
    with pytest.raises(SystemExit, match='needs --quick'):
        harness.main(make_study(), __file__, ['--variants', 'better', '--work-dir', str(tmp_path)])


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
