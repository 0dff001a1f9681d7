"""tools/studies/harness/stats.py against hand-computed numbers."""

import math

import pytest

from tools.studies.harness import stats


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


def _t(df):
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def test_smallest_detectable_effect_is_the_paired_half_width_by_hand():
    # 3 seeds, differences 0.5, -0.3, 1.3: mean 0.5, deviations 0, -0.8, +0.8, sample variance
    # 1.28 / 2 = 0.64, sd 0.8; half-width t_{0.975, 2} * 0.8 / sqrt(3)
    p = stats.paired_difference({0: 10.5, 1: 9.7, 2: 11.3}, {0: 10.0, 1: 10.0, 2: 10.0})
    half = _t(2) * 0.8 / math.sqrt(3)
    assert half == pytest.approx(1.9874, abs=1e-4)  # 4.3027 * 0.8 / 1.7321
    assert stats.smallest_detectable(p) == pytest.approx(half)
    assert stats.half_width(0.8, 3) == pytest.approx(half)
    assert math.isnan(stats.smallest_detectable(stats.paired_difference({0: 1.0}, {0: 0.0})))
    assert math.isnan(stats.half_width(0.8, 1))


def test_seeds_needed_by_hand():
    # sd 0.8, paper effect 0.6: t_{0.975, n-1} * 0.8 / sqrt(n) < 0.6 first at n = 10
    # (n = 8: 2.3646 * 0.8 / 2.8284 = 0.6688; n = 9: 2.3060 * 0.8 / 3 = 0.6149; n = 10:
    # 2.2622 * 0.8 / 3.1623 = 0.5723)
    assert _t(8) * 0.8 / math.sqrt(9) > 0.6 > _t(9) * 0.8 / math.sqrt(10)
    assert stats.seeds_needed(0.8, 0.6) == 10
    assert stats.seeds_needed(0.8, -0.6) == 10  # the sign of the effect does not matter
    # an effect 100x below the spread is not resolved within 50 seeds
    assert stats.seeds_needed(1.0, 0.01) is None
    assert stats.fmt_seeds(None) == 'not within 50' and stats.fmt_seeds(7) == '7'
    assert stats.seeds_needed(0.0, 0.5) == 2  # no spread: two seeds give a 0-width interval
    assert stats.seeds_needed(float('nan'), 0.5) is None


@pytest.mark.parametrize(
    'lo,hi,direction,paper,expected',
    [
        (-1.0, 2.0, 1, 0.46, stats.BELOW_RESOLUTION),  # half-width 1.5 > 0.46
        (-1.0, 2.0, 1, 1.82, 'inconclusive'),  # the paper's effect would have been seen
        (-1.0, 2.0, 1, None, 'inconclusive'),  # no paper effect: the old verdict
        (0.1, 2.0, 1, 0.3, 'reproduced'),  # an interval off 0 keeps its verdict
        (-2.0, -0.1, 1, 0.3, 'not reproduced'),
        (-0.9, 1.1, -1, -0.3, stats.BELOW_RESOLUTION),  # a claimed decrease, |-0.3| < 1.0
        (float('nan'), float('nan'), 1, 0.1, 'inconclusive'),  # one seed: no interval
    ],
)
def test_verdict_with_the_papers_effect(lo, hi, direction, paper, expected):
    assert stats.verdict(lo, hi, direction, paper) == expected
