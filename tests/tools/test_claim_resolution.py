"""tools/analysis/claim_resolution.py against hand-computed numbers."""

import json
import math

import pytest

from tools.analysis import claim_resolution as cr


def _t(df):
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def test_resolve_by_hand():
    # differences 0.5, -0.3, 1.3: mean 0.5, sd 0.8, half-width t_{0.975, 2} * 0.8 / sqrt(3)
    half = _t(2) * 0.8 / math.sqrt(3)
    r = cr.resolve([0.5, -0.3, 1.3], 1, 0.46)
    assert r['half'] == pytest.approx(half) and half == pytest.approx(1.9874, abs=1e-4)
    assert r['paired']['lo'] == pytest.approx(0.5 - half)
    assert r['resolvable'] is False
    # n = 14: 2.1604 * 0.8 / 3.7417 = 0.4619 > 0.46; n = 15: 2.1448 * 0.8 / 3.8730 = 0.4430
    assert _t(13) * 0.8 / math.sqrt(14) > 0.46 > _t(14) * 0.8 / math.sqrt(15)
    assert r['seeds'] == 15
    assert r['data'] == pytest.approx((half / 0.46) ** 2)  # 18.67
    assert r['verdict'] == "below this proxy's resolution"
    big = cr.resolve([0.5, -0.3, 1.3], 1, 2.5)
    assert big['resolvable'] is True and big['data'] is None and big['seeds'] == 3
    assert big['verdict'] == 'inconclusive'
    none = cr.resolve([0.5, -0.3, 1.3], 1, None)
    assert (
        none['resolvable'] is None and none['seeds'] is None and none['verdict'] == 'inconclusive'
    )
    # a 100x smaller effect than the spread: not within the 50-seed cap
    assert cr.resolve([1.0, -1.0, 0.0], 1, 0.01)['seeds'] is None


def test_write_reads_the_study_jsons(tmp_path, monkeypatch):
    claims = [
        dict(claim='m helps', method='m', baseline='b', metric='ap', direction=1,
             verdict='inconclusive', diffs=[0.5, -0.3, 1.3], seeds=[0, 1, 2]),
        dict(claim='m lowers std', method='m', baseline='b', metric='std', direction=-1,
             verdict='withheld', withheld='no parity', diffs=[-2.0, -3.0, -4.0], seeds=[0, 1, 2]),
    ]  # fmt: skip
    (tmp_path / 'fake_study.json').write_text(
        json.dumps(dict(study='fake_study', claims=claims, runs=[]))
    )
    (tmp_path / 'pilot.json').write_text(json.dumps(dict(study='pilot', claims=[], runs=[])))
    effects = {'m helps': (0.46, 'Table 9'), 'm lowers std': (-1.0, 'Table 8')}
    monkeypatch.setitem(cr.PAPER_EFFECTS, 'fake_study', effects)
    md = cr.write(
        str(tmp_path), str(tmp_path / 'out.md'), 'python tools/analysis/claim_resolution.py'
    )
    assert (tmp_path / 'out.md').read_text() == md
    assert md.split('\n')[2].startswith('Produced by `python tools/analysis/claim_resolution.py`')
    assert (
        '| fake_study | m helps | ap ↑ | 3 | +0.50 [-1.49, +2.49] | ±1.99 | +0.46 (Table 9) | no '
        "| 15 | 18.7 | inconclusive | below this proxy's resolution |"
    ) in md
    # -3 +- t_{0.975, 2} * 1 / sqrt(3) = -3 +- 2.48: reproduced (a fall), not resolvable at
    # -1.0; n = 6: 2.5706 / 2.4495 = 1.049 > 1, n = 7: 2.4469 / 2.6458 = 0.925; 2.4842^2 = 6.17
    assert _t(5) / math.sqrt(6) > 1.0 > _t(6) / math.sqrt(7)
    assert (
        '| fake_study | m lowers std | std ↓ | 3 | -3.00 [-5.48, -0.52] | ±2.48 | -1.00 (Table 8) '
        '| no | 7 | 6.2 | withheld (no parity) | reproduced (withheld in the study) |'
    ) in md
    assert '2 claims, 2 with a paper effect; 2 of those are below the resolution' in md
    assert 'pilot' not in md.split('| study |')[1]
