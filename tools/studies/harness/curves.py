"""The runs' curves: grouped by variant, the convergence of the baselines (last-interval gain
and the schedule-length check), their markdown tables and the figure of every variant's
validation curve (:func:`plot_curves`, redrawn from a report's JSON by :func:`replot`)."""

import json
import os.path as osp
import textwrap
from collections import OrderedDict
from typing import Dict, List, Sequence

import numpy as np

from tools.studies.harness.study import Study


def by_variant(runs: Sequence[dict]) -> 'OrderedDict[str, Dict[int, dict]]':
    """Variant -> seed -> run record (in the order the runs were listed)."""
    out: 'OrderedDict[str, Dict[int, dict]]' = OrderedDict()
    for r in runs:
        out.setdefault(r['variant'], {})[r['seed']] = r
    return out


def metric(run: dict, key: str, scale: float = 1.0) -> float:
    """Final validation value of ``key`` times ``scale`` (NaN when missing)."""
    value = run['final'].get(key)
    return float('nan') if value is None else scale * float(value)


def curve(runs: Dict[int, dict], key: str, scale: float = 1.0):
    """Validation steps and the mean / min / max over seeds of ``key`` (times ``scale``)."""
    steps = [v['step'] for v in next(iter(runs.values()))['val']]
    vals = scale * np.array(
        [[rec.get(key, np.nan) for rec in r['val']][: len(steps)] for r in runs.values()],
        dtype=float,
    )
    return np.array(steps), vals.mean(0), vals.min(0), vals.max(0)


def convergence(study: Study, grouped) -> List[dict]:
    """Last-interval gain of every baseline's mean curve."""
    rows = []
    for name in study.baselines:
        steps, mean, _, _ = curve(grouped[name], study.primary, study.scale)
        gain = float(mean[-1] - mean[-2]) if len(mean) > 1 else float('nan')
        rows.append(
            dict(
                variant=name,
                steps=steps.tolist(),
                mean=mean.tolist(),
                gain=gain,
                converged=bool(np.isfinite(gain) and gain <= study.converge_tol),
            )
        )
    return rows


def length_check(study: Study, grouped) -> List[dict]:
    """Schedule-length check of every baseline with a 2x arm (``Study.length_checked``).

    Per baseline: the seeds with a 2x-schedule run, the mean final ``primary`` (times
    ``scale``) at the schedule and at 2x over those seeds, the gain (mean of the per-seed
    ``2x - schedule``) and ``converged = |gain| <= converge_tol``. A baseline whose 2x run is
    missing is not converged (gain NaN).

    Args:
        study (Study): The study (``length_checked``).
        grouped: :func:`by_variant` of the runs, 2x runs included.

    Returns:
        list[dict]: One row per baseline.
    """
    rows = []
    for name in study.length_variants():
        base = grouped.get(name, {})
        long = grouped.get(name + study.LONG_SUFFIX, {})
        seeds = sorted(set(base) & set(long))
        sched = [metric(base[s], study.primary, study.scale) for s in seeds]
        twice = [metric(long[s], study.primary, study.scale) for s in seeds]
        gain = float(np.mean(np.subtract(twice, sched))) if seeds else float('nan')
        steps = [
            (runs[seeds[0]]['val'][-1].get('step') if seeds and runs[seeds[0]]['val'] else None)
            for runs in (base, long)
        ]
        rows.append(
            dict(
                variant=name,
                seeds=seeds,
                steps=steps,
                schedule=float(np.mean(sched)) if seeds else float('nan'),
                twice=float(np.mean(twice)) if seeds else float('nan'),
                gain=gain,
                converged=bool(np.isfinite(gain) and abs(gain) <= study.converge_tol),
            )
        )
    return rows


def length_table(rows: List[dict], study: Study) -> List[str]:
    """Markdown of the ``## Schedule-length check`` section."""
    lines = [
        '## Schedule-length check',
        '',
        f'Every baseline also trained at twice the schedule (first seed; every seed when that '
        f'one moved by more than {study.converge_tol / 2:g}); final validation '
        f'{study.primary}, mean over the seeds with a 2x run; gain = mean of the per-seed '
        f'2x - schedule; converged = |gain| <= {study.converge_tol:g}.',
        '',
        '| baseline | seeds | schedule | 2x | gain | converged |',
        '|---|---|---|---|---|---|',
    ]
    for r in rows:
        unit = study.step_unit
        at = [f' ({unit} {s})' if s is not None else '' for s in r['steps']]
        lines.append(
            f'| {r["variant"]} | {", ".join(map(str, r["seeds"])) or "none"} | '
            f'{r["schedule"]:.2f}{at[0]} | {r["twice"]:.2f}{at[1]} | {r["gain"]:+.2f} | '
            f'{"yes" if r["converged"] else "**no**"} |'
        )
    return lines + ['']


def convergence_table(conv: List[dict], unit: str) -> List[str]:
    """Markdown table of :func:`convergence`'s rows.

    Columns are the validation steps (in ``unit``) when every baseline was validated at the
    same steps; otherwise the k-th validation, each cell naming its step (``value @ step``).
    """
    if not conv:
        return []
    shared = all(c['steps'] == conv[0]['steps'] for c in conv)
    width = max(len(c['steps']) for c in conv)
    head = (
        [f'{unit} {s}' for s in conv[0]['steps']]
        if shared
        else [f'validation {k + 1}' for k in range(width)]
    )
    lines = [
        '| baseline | ' + ' | '.join(head) + ' | last gain | converged |',
        '|---|' + '---|' * (width + 2),
    ]
    for c in conv:
        cells = [f'{m:.2f}' if shared else f'{m:.2f} @ {s}' for s, m in zip(c['steps'], c['mean'])]
        cells += [''] * (width - len(cells))
        lines.append(
            f'| {c["variant"]} | '
            + ' | '.join(cells)
            + f' | {c["gain"]:+.2f} | {"yes" if c["converged"] else "**no**"} |'
        )
    if not shared:
        lines += ['', f'(`value @ step`: the step is in {unit}s.)']
    return lines


def plot_curves(study: Study, grouped, path: str) -> None:
    """One panel per variant group: mean validation curve (min-max band over seeds)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    groups = list(OrderedDict.fromkeys(v.group for v in study.variants))
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax, group in zip(axes.flat, groups):
        for v in (v for v in study.variants if v.group == group):
            steps, mean, lo, hi = curve(grouped[v.name], study.primary, study.scale)
            style = '--' if v.name in study.baselines else '-'
            (line,) = ax.plot(steps, mean, style, marker='o', ms=3, label=v.name)
            ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.15)
        ax.set_title(group or study.title, fontsize=9)
        ax.set_xlabel(study.step_unit)
        ax.set_ylabel(f'val {study.primary}')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis('off')
    title = f'{study.title}: validation curves (mean over seeds, band = min-max)'
    # wrapped to the figure's width (~12 characters per inch at this size), not clipped
    fig.suptitle(textwrap.fill(title, width=int(12 * 5.2 * cols)), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def replot(study: Study, out_dir: str) -> str:
    """Redraw ``<out_dir>/<study.name>.png`` from the runs in ``<study.name>.json``.

    Trains and reads no run folder; the markdown and the JSON stay as they are (the figure
    shows the same curves, e.g. after a change of the plotting code).

    Args:
        study (Study): The study whose report it is.
        out_dir (str): The report's folder.

    Returns:
        str: Path of the figure.
    """
    stem = osp.join(out_dir, study.name)
    if not osp.isfile(stem + '.json'):
        raise FileNotFoundError(f'no report to redraw: {stem}.json does not exist')
    with open(stem + '.json') as f:
        runs = json.load(f)['runs']
    plot_curves(study, by_variant(runs), stem + '.png')
    return stem + '.png'
