"""Statistics shared by every mmext study (one module, one definition of each number).

* :func:`mean_std`: mean and **sample** standard deviation (``ddof=1``) over seeds;
* :func:`paired_difference`: per-seed differences ``method - baseline`` of runs that share a
  seed, their mean and a two-sided 95 % Student-t interval
  ``mean +- t_{0.975, n-1} * sd / sqrt(n)``;
* :func:`verdict`: ``reproduced`` when that interval lies entirely on the side the paper
  claims, ``not reproduced`` when it lies entirely on the other side, ``inconclusive`` when it
  contains 0 (or fewer than two seeds were paired); with the paper's own effect size given,
  ``below this proxy's resolution`` instead of ``inconclusive`` when that effect is smaller
  than the smallest effect the study can detect;
* :func:`smallest_detectable`: the smallest effect a study can detect, **defined as the
  half-width of the paired 95 % interval**, ``t_{0.975, n-1} * sd / sqrt(n)`` (``sd`` the
  sample std of the per-seed differences): the smallest observed mean difference whose
  interval excludes 0. A true effect of exactly that size is detected about half the time
  (80 % power needs about twice it);
* :func:`seeds_needed`: the fewest seeds ``n`` with ``t_{0.975, n-1} * sd / sqrt(n) <
  |effect|`` at the observed ``sd`` (``None`` when not within a cap, 50 by default).
"""

import math
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

REPRODUCED = 'reproduced'
NOT_REPRODUCED = 'not reproduced'
INCONCLUSIVE = 'inconclusive'
BELOW_RESOLUTION = "below this proxy's resolution"
#: the most seeds :func:`seeds_needed` tries
SEEDS_CAP = 50


def t_quantile(df: int, q: float = 0.975) -> float:
    """Quantile ``q`` of Student's t distribution with ``df`` degrees of freedom.

    Args:
        df (int): Degrees of freedom, at least 1.
        q (float): Probability in ``(0, 1)``. Defaults to 0.975 (two-sided 95 %).

    Returns:
        float: The quantile (scipy's ``t.ppf``).
    """
    if df < 1:
        raise ValueError(f'df must be >= 1, got {df}')
    from scipy.stats import t

    return float(t.ppf(q, df))


def mean_std(values: Sequence[float]) -> Dict[str, float]:
    """Mean and sample standard deviation of finite and non-finite values alike.

    Args:
        values (Sequence[float]): One value per seed. NaN propagates (a run whose metric is
            undefined makes the summary undefined rather than silently dropping it).

    Returns:
        dict: ``mean``, ``std`` (``ddof=1``; NaN for a single value) and ``n``.
    """
    arr = np.asarray(list(values), dtype=np.float64)
    n = len(arr)
    if n == 0:
        return dict(mean=float('nan'), std=float('nan'), n=0)
    std = float(arr.std(ddof=1)) if n > 1 else float('nan')
    return dict(mean=float(arr.mean()), std=std, n=n)


def paired_difference(
    method: Mapping[int, float], baseline: Mapping[int, float], level: float = 0.95
) -> Dict[str, object]:
    """Per-seed differences ``method - baseline`` and their t-interval.

    Args:
        method (Mapping[int, float]): Seed -> metric of the method.
        baseline (Mapping[int, float]): Seed -> metric of the baseline.
        level (float): Two-sided confidence level. Defaults to 0.95.

    Returns:
        dict: ``seeds`` and ``diffs`` (seeds present in both, ascending), ``mean``, ``std``
        (sample), ``n``, ``lo`` / ``hi`` (the interval; NaN when ``n < 2``).
    """
    seeds = sorted(set(method) & set(baseline))
    diffs = np.array([method[s] - baseline[s] for s in seeds], dtype=np.float64)
    out: Dict[str, object] = dict(
        seeds=seeds,
        diffs=diffs.tolist(),
        n=len(seeds),
        mean=float('nan'),
        std=float('nan'),
        lo=float('nan'),
        hi=float('nan'),
    )
    if len(seeds) == 0:
        return out
    out['mean'] = float(diffs.mean())
    if len(seeds) > 1:
        sd = float(diffs.std(ddof=1))
        half = t_quantile(len(seeds) - 1, 0.5 + level / 2) * sd / math.sqrt(len(seeds))
        out.update(std=sd, lo=out['mean'] - half, hi=out['mean'] + half)
    return out


def half_width(sd: float, n: int, level: float = 0.95) -> float:
    """Half-width ``t_{(1 + level) / 2, n-1} * sd / sqrt(n)`` of a t-interval of a mean.

    Args:
        sd (float): Sample standard deviation of the ``n`` values.
        n (int): Number of values.
        level (float): Two-sided confidence level. Defaults to 0.95.

    Returns:
        float: The half-width (NaN when ``n < 2`` or ``sd`` is not finite).
    """
    if n < 2 or not np.isfinite(sd):
        return float('nan')
    return t_quantile(n - 1, 0.5 + level / 2) * sd / math.sqrt(n)


def smallest_detectable(paired: Mapping[str, object]) -> float:
    """Smallest effect the study can detect: the half-width of the paired 95 % interval.

    ``t_{0.975, n-1} * sd / sqrt(n)`` of the per-seed differences, i.e. ``(hi - lo) / 2`` of
    :func:`paired_difference`'s interval: an observed mean difference at least this large
    (in absolute value) has an interval that excludes 0.

    Args:
        paired (Mapping): :func:`paired_difference`'s result (``lo`` and ``hi`` used).

    Returns:
        float: The half-width (NaN without an interval, i.e. fewer than two seeds).
    """
    lo, hi = float(paired['lo']), float(paired['hi'])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return float('nan')
    return (hi - lo) / 2


def seeds_needed(sd: float, effect: float, cap: int = SEEDS_CAP) -> Optional[int]:
    """Fewest seeds whose 95 % half-width at spread ``sd`` is below ``|effect|``.

    The smallest ``n >= 2`` with ``t_{0.975, n-1} * sd / sqrt(n) < |effect|``, the spread
    ``sd`` of the per-seed differences taken as measured.

    Args:
        sd (float): Sample std of the per-seed paired differences.
        effect (float): The effect to resolve (e.g. the paper's), in the metric's units.
        cap (int): Most seeds tried. Defaults to :data:`SEEDS_CAP` (50).

    Returns:
        int or None: ``n``, or ``None`` when no ``n <= cap`` resolves it (or ``sd`` / the
        effect is not finite, or the effect is 0).
    """
    effect = abs(float(effect))
    if not (np.isfinite(sd) and np.isfinite(effect)) or effect == 0:
        return None
    for n in range(2, cap + 1):
        if half_width(sd, n) < effect:
            return n
    return None


def verdict(lo: float, hi: float, direction: int, paper_effect: Optional[float] = None) -> str:
    """Verdict on a claim from the interval of ``method - baseline``.

    Args:
        lo (float): Lower end of the interval.
        hi (float): Upper end of the interval.
        direction (int): ``+1`` when the paper claims the metric goes up, ``-1`` down.
        paper_effect (float, optional): The paper's own effect size in the metric's units.
            When given, an interval that contains 0 and whose half-width (the smallest
            detectable effect, :func:`smallest_detectable`) exceeds ``|paper_effect|`` gives
            ``"below this proxy's resolution"``: the study could not have seen the paper's
            effect. ``None`` (default): the verdict ignores the paper's effect size.

    Returns:
        str: ``'reproduced'``, ``'not reproduced'``, ``'inconclusive'`` or ``"below this
        proxy's resolution"``.
    """
    if direction not in (1, -1):
        raise ValueError(f'direction must be +1 or -1, got {direction}')
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return INCONCLUSIVE
    half = (hi - lo) / 2
    lo, hi = (lo, hi) if direction == 1 else (-hi, -lo)
    if lo > 0:
        return REPRODUCED
    if hi < 0:
        return NOT_REPRODUCED
    if paper_effect is not None and abs(paper_effect) < half:
        return BELOW_RESOLUTION
    return INCONCLUSIVE


def fmt_pm(summary: Mapping[str, float], digits: int = 2) -> str:
    """``mean ± std`` (just the mean for one value, ``n/a`` for none)."""
    if summary['n'] == 0:
        return 'n/a'
    if summary['n'] == 1 or not np.isfinite(summary['std']):
        return f'{summary["mean"]:.{digits}f}'
    return f'{summary["mean"]:.{digits}f} ± {summary["std"]:.{digits}f}'


def fmt_seeds(n: Optional[int], cap: int = SEEDS_CAP) -> str:
    """:func:`seeds_needed`'s answer in words (``not within 50`` for ``None``)."""
    return f'not within {cap}' if n is None else str(n)


def fmt_interval(paired: Mapping[str, object], digits: int = 2) -> str:
    """``+1.23 [-0.40, +2.86]`` for a paired difference."""
    if paired['n'] == 0:
        return 'n/a'
    text = f'{paired["mean"]:+.{digits}f}'
    if np.isfinite(paired['lo']):
        text += f' [{paired["lo"]:+.{digits}f}, {paired["hi"]:+.{digits}f}]'
    return text
