"""Statistics shared by every mmext study (one module, one definition of each number).

* :func:`mean_std`: mean and **sample** standard deviation (``ddof=1``) over seeds;
* :func:`paired_difference`: per-seed differences ``method - baseline`` of runs that share a
  seed, their mean and a two-sided 95 % Student-t interval
  ``mean +- t_{0.975, n-1} * sd / sqrt(n)``;
* :func:`verdict`: ``reproduced`` when that interval lies entirely on the side the paper
  claims, ``not reproduced`` when it lies entirely on the other side, ``inconclusive`` when it
  contains 0 (or fewer than two seeds were paired).
"""

import math
from typing import Dict, Mapping, Sequence

import numpy as np

REPRODUCED = 'reproduced'
NOT_REPRODUCED = 'not reproduced'
INCONCLUSIVE = 'inconclusive'


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


def verdict(lo: float, hi: float, direction: int) -> str:
    """Verdict on a claim from the interval of ``method - baseline``.

    Args:
        lo (float): Lower end of the interval.
        hi (float): Upper end of the interval.
        direction (int): ``+1`` when the paper claims the metric goes up, ``-1`` down.

    Returns:
        str: ``'reproduced'``, ``'not reproduced'`` or ``'inconclusive'``.
    """
    if direction not in (1, -1):
        raise ValueError(f'direction must be +1 or -1, got {direction}')
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return INCONCLUSIVE
    lo, hi = (lo, hi) if direction == 1 else (-hi, -lo)
    if lo > 0:
        return REPRODUCED
    if hi < 0:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def fmt_pm(summary: Mapping[str, float], digits: int = 2) -> str:
    """``mean ± std`` (just the mean for one value, ``n/a`` for none)."""
    if summary['n'] == 0:
        return 'n/a'
    if summary['n'] == 1 or not np.isfinite(summary['std']):
        return f'{summary["mean"]:.{digits}f}'
    return f'{summary["mean"]:.{digits}f} ± {summary["std"]:.{digits}f}'


def fmt_interval(paired: Mapping[str, object], digits: int = 2) -> str:
    """``+1.23 [-0.40, +2.86]`` for a paired difference."""
    if paired['n'] == 0:
        return 'n/a'
    text = f'{paired["mean"]:+.{digits}f}'
    if np.isfinite(paired['lo']):
        text += f' [{paired["lo"]:+.{digits}f}, {paired["hi"]:+.{digits}f}]'
    return text
