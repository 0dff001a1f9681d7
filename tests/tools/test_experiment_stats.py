"""tools/experiments/stats.py against hand-computed numbers."""

import math

import pytest

from tools.experiments import stats


def test_mean_and_sample_std_by_hand():
    s = stats.mean_std([2.0, 4.0, 9.0])
    # mean 5; squared deviations 9 + 1 + 16 = 26; sample variance 26 / 2 = 13
    assert s['mean'] == pytest.approx(5.0)
    assert s['std'] == pytest.approx(math.sqrt(13.0))
    assert s['n'] == 3
    one = stats.mean_std([7.0])
    assert one['mean'] == 7.0 and math.isnan(one['std'])
    assert stats.fmt_pm(s) == '5.00 ± 3.61' and stats.fmt_pm(one) == '7.00'


def test_t_quantile_matches_tables():
    # two-sided 95 % critical values from any t table
    assert stats.t_quantile(1) == pytest.approx(12.706, abs=1e-3)
    assert stats.t_quantile(2) == pytest.approx(4.303, abs=1e-3)
    assert stats.t_quantile(9) == pytest.approx(2.262, abs=1e-3)
    with pytest.raises(ValueError):
        stats.t_quantile(0)


def test_paired_difference_by_hand():
    method = {0: 11.0, 1: 12.0, 2: 14.0, 7: 99.0}  # seed 7 has no baseline: not paired
    base = {0: 10.0, 1: 10.0, 2: 11.0}
    p = stats.paired_difference(method, base)
    assert p['seeds'] == [0, 1, 2] and p['diffs'] == [1.0, 2.0, 3.0]
    # mean 2, sample sd 1, half width 4.303 * 1 / sqrt(3) = 2.4842
    assert p['mean'] == pytest.approx(2.0) and p['std'] == pytest.approx(1.0)
    assert p['lo'] == pytest.approx(2.0 - 2.4842, abs=1e-3)
    assert p['hi'] == pytest.approx(2.0 + 2.4842, abs=1e-3)
    assert stats.fmt_interval(p) == '+2.00 [-0.48, +4.48]'


def test_paired_difference_of_one_seed_has_no_interval():
    p = stats.paired_difference({0: 3.0}, {0: 1.0})
    assert p['mean'] == 2.0 and math.isnan(p['lo']) and math.isnan(p['hi'])
    assert stats.verdict(p['lo'], p['hi'], 1) == stats.INCONCLUSIVE


@pytest.mark.parametrize(
    'lo,hi,direction,expected',
    [
        (0.5, 2.0, 1, 'reproduced'),
        (-2.0, -0.5, 1, 'not reproduced'),
        (-0.5, 2.0, 1, 'inconclusive'),
        (-2.0, -0.5, -1, 'reproduced'),  # the paper claims a decrease (e.g. std of IoUs)
        (0.5, 2.0, -1, 'not reproduced'),
        (-0.1, 0.1, -1, 'inconclusive'),
    ],
)
def test_verdict(lo, hi, direction, expected):
    assert stats.verdict(lo, hi, direction) == expected


def test_verdict_rejects_a_bad_direction():
    with pytest.raises(ValueError):
        stats.verdict(0, 1, 0)
