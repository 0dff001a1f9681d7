"""The one report writer of mmext's studies: markdown + json + PNG of the curves.

The markdown opens with the exact command, the git commit, the machine, the wall and CPU
time, and a warning when a baseline has not converged; then the setup, the study's
``REFERENCE`` block (``## Reference recipe``: the authors' recipe followed and every
deliberate difference; a warning when the study has none), the convergence table, the
results (mean ± sample std over seeds), the paired differences of every variant to its
baseline, the verdict of every claim (with the smallest effect the study can detect next to
the paper's own effect size, :func:`tools.experiments.stats.smallest_detectable`), the
study's own sections and the list of every run.
"""

import datetime
import json
import os
import os.path as osp
import platform
import subprocess
import textwrap
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

from tools.experiments.harness import REPO, Study
from tools.experiments.stats import (
    BELOW_RESOLUTION,
    fmt_interval,
    fmt_pm,
    fmt_seeds,
    mean_std,
    paired_difference,
    seeds_needed,
    smallest_detectable,
    verdict,
)

#: the verdict legend's definition of the smallest detectable effect
RESOLUTION_RULE = (
    'smallest detectable effect: the half-width of the 95 % interval of the paired '
    'difference, t_{0.975, n-1} · sd / √n over the n seeds (an observed Δ at least this '
    "large excludes 0); below this proxy's resolution: the interval contains 0 and the "
    "paper's own effect is smaller than that, so the study could not have seen it (the "
    "seeds that would resolve the paper's effect at this spread are named)"
)


def git_commit() -> str:
    """``<sha>`` of HEAD, with ``+ uncommitted changes`` when the tree is dirty."""

    def git(*args: str) -> str:
        return subprocess.run(
            ['git', *args], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()

    sha = git('rev-parse', '--short=10', 'HEAD') or 'unknown'
    dirty = git('status', '--porcelain', '--untracked-files=no')
    return sha + (' + uncommitted changes' if dirty else '')


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{os.cpu_count()} x {cpu}, Python {platform.python_version()}'


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
    """Schedule-length check of every baseline (see ``Study.long_schedule``).

    Per baseline: the seeds with a 2x-schedule run, the mean final ``primary`` (times
    ``scale``) at the schedule and at 2x over those seeds, the gain (mean of the per-seed
    ``2x - schedule``) and ``converged = |gain| <= converge_tol``. A baseline whose 2x run is
    missing is not converged (gain NaN).

    Args:
        study (Study): The study (``long_schedule`` set).
        grouped: :func:`by_variant` of the runs, 2x runs included.

    Returns:
        list[dict]: One row per baseline.
    """
    rows = []
    for name in study.baselines:
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


def rereport(study: Study, out_dir: str, command: str) -> str:
    """Rewrite a published report from its JSON with this commit's report code.

    Nothing is trained or read from a run folder: the runs are the JSON's, the study is
    restricted to the arms they hold (arms added since are left out, with their claims), and
    the "Produced by" line keeps the original command and commit and adds this one. Use it
    when the report's tables change (e.g. the resolution columns, the reference section),
    not when a study's settings change.

    Args:
        study (Study): The study whose report it is.
        out_dir (str): The report's folder.
        command (str): This command line.

    Returns:
        str: The new markdown.

    Raises:
        FileNotFoundError: Without ``<out_dir>/<study.name>.json``.
        ValueError: When the JSON holds an arm the study no longer defines.
    """
    stem = osp.join(out_dir, study.name)
    if not osp.isfile(stem + '.json'):
        raise FileNotFoundError(f'no report to re-report: {stem}.json does not exist')
    with open(stem + '.json') as f:
        payload = json.load(f)
    runs = payload['runs']
    longs = (
        {study.length_variant(b).name for b in study.baselines} if study.long_schedule else set()
    )
    names = set(r['variant'] for r in runs)
    unknown = sorted(names - {v.name for v in study.variants} - longs)
    if unknown:
        raise ValueError(
            f'{stem}.json holds arms this study no longer defines: {unknown}; rerun the study'
        )
    sub = study.subset([v.name for v in study.variants if v.name in names])
    pending = [v.name for v in study.variants if v.name not in names]
    old = ''
    if osp.isfile(stem + '.md'):
        with open(stem + '.md') as f:
            old = next((ln for ln in f if ln.startswith('Produced by ')), '').strip()
    provenance = (
        (old or f'Produced by `{payload.get("command", "?")}`.')
        + f' Tables and verdicts re-reported from its JSON (nothing retrained) by `{command}` at '
        f'commit `{git_commit()}` on {datetime.date.today().isoformat()}'
        + (f'; arms defined since and not run yet: {", ".join(pending)}' if pending else '')
        + '.'
    )
    return write_report(
        sub,
        runs,
        out_dir,
        command=payload.get('command', command),
        wall_s=float(payload.get('wall_s', 0.0)),
        provenance=provenance,
    )


def reference_section(study: Study) -> List[str]:
    """Markdown of the ``## Reference recipe`` section: the study's ``REFERENCE`` block.

    A study without one (``Study.reference`` empty and no ``Recipe followed`` block of its
    own in its setup) gets a warning in the section and a Python ``UserWarning``.
    """
    lines = ['## Reference recipe', '']
    if study.reference.strip():
        return lines + ['```text', *study.reference.rstrip().splitlines(), '```', '']
    if any('Recipe followed' in ln for ln in study.setup):
        return lines + ['In the setup above (the study renders its own REFERENCE block).', '']
    warnings.warn(
        f"{study.name}: no REFERENCE block (the authors' recipe followed and every "
        'deliberate difference); set Study.reference',
        stacklevel=2,
    )
    return lines + [
        "**No `REFERENCE` block**: this study names neither the authors' recipe it follows "
        'nor its deliberate differences from it.',
        '',
    ]


def claim_cells(c, p: dict, v: str) -> Dict[str, object]:
    """Resolution of one claim: smallest detectable effect, paper's effect, seeds needed.

    Args:
        c (Claim): The claim (``paper_effect`` / ``paper_source`` read).
        p (dict): :func:`~tools.experiments.stats.paired_difference` of the claim.
        v (str): Its verdict.

    Returns:
        dict: ``smallest_detectable`` (float), ``paper_effect``, ``paper_source``,
        ``seeds_needed`` (``None`` without a paper effect or beyond the cap) and the three
        markdown cells ``detectable``, ``paper`` and ``shown`` (the verdict).
    """
    half = smallest_detectable(p)
    need = None
    if c.paper_effect is not None:
        need = seeds_needed(float(p['std']), c.paper_effect)
    detectable = f'±{half:.2f}' if np.isfinite(half) else 'n/a (one seed)'
    if c.paper_effect is None:
        paper = 'not given'
    else:
        paper = f'{c.paper_effect:+.2f}' + (f' ({c.paper_source})' if c.paper_source else '')
    shown = f'**{v}**'
    if v == BELOW_RESOLUTION:
        shown += f' ({fmt_seeds(need)} seeds would resolve {c.paper_effect:+.2f} at this spread)'
    return dict(
        smallest_detectable=half,
        paper_effect=c.paper_effect,
        paper_source=c.paper_source,
        seeds_needed=need,
        detectable=detectable,
        paper=paper,
        shown=shown,
    )


def write_report(
    study: Study,
    runs: Sequence[dict],
    out_dir: str,
    command: str,
    wall_s: float,
    quick: bool = False,
    provenance: Optional[str] = None,
) -> str:
    """Write ``<out_dir>/<study.name>.{md,json,png}``; returns the markdown.

    Args:
        study (Study): The study.
        runs (Sequence[dict]): Its run records.
        out_dir (str): Report folder.
        command (str): The command line that produced the report.
        wall_s (float): Wall time of this invocation.
        quick (bool): A ``--quick`` run. Defaults to False.
        provenance (str, optional): Replaces the "Produced by ..." line (:func:`rereport`).
    """
    os.makedirs(out_dir, exist_ok=True)
    grouped = by_variant(runs)
    conv = convergence(study, grouped)
    stem = osp.join(out_dir, study.name)
    plot_curves(study, grouped, stem + '.png')
    cpu_h = sum(r['cpu_s'] for r in runs) / 3600
    lines = [f'# {study.title}', '']
    if quick:
        lines += [
            '**`--quick` run: a few iterations per variant; checks the pipeline, the '
            'numbers mean nothing.**',
            '',
        ]
    length = length_check(study, grouped) if study.long_schedule else None
    withheld: Dict[str, str] = {}
    if length is not None:
        short = [r['variant'] for r in length if not r['converged']]
        if short:
            lines += [
                f'**SCHEDULE TOO SHORT: {", ".join(short)} moved by more than '
                f'{study.converge_tol:g} {study.primary} at twice the schedule (see '
                '"Schedule-length check"). The study has to move to the longer schedule before '
                'any arm is read; every verdict below is withheld.**',
                '',
            ]
            withheld = {
                c.name: f'schedule-length check failed ({", ".join(short)})' for c in study.claims
            }
    bad = [] if length is not None else [c['variant'] for c in conv if not c['converged']]
    if bad:
        lines += [
            f'**Baseline not converged: {", ".join(bad)}** (the last validation '
            f'interval still gains more than {study.converge_tol:g} {study.primary}); '
            'the comparisons below are of unconverged models.',
            '',
        ]
    lines += [
        provenance
        or (
            f'Produced by `{command}` at commit `{git_commit()}` on '
            f'{datetime.date.today().isoformat()}; machine: {machine()}; wall '
            f'{wall_s / 60:.1f} min for this invocation (cached runs are not retrained), '
            f'{cpu_h:.2f} CPU-hours over the {len(runs)} runs listed below.'
        ),
        '',
    ]
    lines += (
        ['## Setup', '']
        + list(study.setup)
        + [
            '',
            f'Seeds {list(study.seeds)} for every variant; options shared by every variant: '
            + ', '.join(f'`{o}`' for o in study.schedule)
            + '.',
            '',
        ]
    )
    lines += reference_section(study)
    if length is not None:
        lines += length_table(length, study)
    elif not quick:
        lines += [
            '## Schedule-length check',
            '',
            'Not run for this study: its baselines have no runs at twice the schedule '
            '(`Study.long_schedule` unset). The convergence table below uses the gain of the '
            'last validation interval, which cannot see under-training after a learning-rate '
            'decay: a verdict here may be about a short schedule, not about the method.',
            '',
        ]
    lines += [
        '## Convergence of the baselines',
        '',
        f'Mean validation {study.primary} over seeds at each validation point; '
        f'"converged" = the last interval gains at most {study.converge_tol:g}'
        + (' (informative only: the schedule-length check above decides)' if length else '')
        + f'. Curves of every variant: `{study.name}.png`.',
        '',
    ]
    lines += convergence_table(conv, study.step_unit)
    lines += [
        '',
        f'![curves]({study.name}.png)',
        '',
        '## Results',
        '',
        'Final validation, mean ± sample std over seeds (percent).',
        '',
        '| variant | ' + ' | '.join(lbl for lbl, _ in study.metrics) + ' |',
        '|---|' + '---|' * len(study.metrics),
    ]
    for v in study.variants:
        cells = [
            fmt_pm(mean_std([metric(r, k, study.scale) for r in grouped[v.name].values()]))
            for _, k in study.metrics
        ]
        lines.append(f'| {v.name} | ' + ' | '.join(cells) + ' |')
    paired = [v for v in study.variants if v.baseline]
    lines += ['', f'## Paired differences in {study.primary} (variant - its baseline)', '']
    if paired:
        lines += [
            'Per seed, then the mean and its 95 % t-interval over seeds.',
            '',
            '| variant | baseline | '
            + ' | '.join(f'seed {s}' for s in study.seeds)
            + ' | mean Δ [95 % CI] |',
            '|---|---|' + '---|' * (len(study.seeds) + 1),
        ]
    else:
        lines.append('None: no variant of this study has a baseline to pair with.')
    for v in paired:
        p = paired_difference(
            {s: metric(r, study.primary, study.scale) for s, r in grouped[v.name].items()},
            {s: metric(r, study.primary, study.scale) for s, r in grouped[v.baseline].items()},
        )
        diffs = dict(zip(p['seeds'], p['diffs']))
        lines.append(
            f'| {v.name} | {v.baseline} | '
            + ' | '.join(f'{diffs[s]:+.2f}' if s in diffs else 'n/a' for s in study.seeds)
            + f' | {fmt_interval(p)} |'
        )
    if study.withhold is not None:
        for name, reason in study.withhold(study, list(runs)).items():
            withheld.setdefault(name, reason)
    lines += ['', '## Verdicts', '']
    if study.claims:
        lines += [
            'reproduced: the 95 % interval of the paired difference lies on the side the '
            'paper claims; not reproduced: on the other side; inconclusive: it contains 0; '
            + RESOLUTION_RULE
            + (
                '; withheld: the interval is shown but the claim gets no verdict (the reason '
                'is named).'
                if withheld
                else '.'
            ),
            '',
            '| claim | method | baseline | metric | Δ [95 % CI] | smallest detectable effect '
            "| paper's effect | verdict |",
            '|---|---|---|---|---|---|---|---|',
        ]
    else:
        lines.append('None: this study tests no claim of a paper (a pilot).')
    claims = []
    for c in study.claims:
        p = paired_difference(
            {s: metric(r, c.metric, study.scale) for s, r in grouped[c.method].items()},
            {s: metric(r, c.metric, study.scale) for s, r in grouped[c.baseline].items()},
        )
        v = verdict(p['lo'], p['hi'], c.direction, c.paper_effect)
        extra = {}
        cells = claim_cells(c, p, v)
        shown = cells.pop('shown')
        detectable, paper = cells.pop('detectable'), cells.pop('paper')
        if c.name in withheld:
            extra = dict(paired_verdict=v, withheld=withheld[c.name])
            v = 'withheld'
            shown = f'**withheld** ({withheld[c.name]})'
        claims.append(
            dict(
                claim=c.name,
                method=c.method,
                baseline=c.baseline,
                metric=c.metric,
                direction=c.direction,
                verdict=v,
                **extra,
                **p,
                **cells,
            )
        )
        arrow = '↑' if c.direction > 0 else '↓'
        lines.append(
            f'| {c.name} | {c.method} | {c.baseline} | {c.metric} {arrow} | '
            f'{fmt_interval(p)} | {detectable} | {paper} | {shown} |'
        )
    if study.sections is not None:
        lines += [''] + study.sections(study, list(runs))
    lines += [
        '',
        '## Every run',
        '',
        '| variant | seed | run folder | wall (s) | CPU (s) | final ' + study.primary + ' |',
        '|---|---|---|---|---|---|',
    ]
    for r in runs:
        lines.append(
            f'| {r["variant"]} | {r["seed"]} | `{r["run_dir"]}` | {r["wall_s"]:.0f} '
            f'| {r["cpu_s"]:.0f} | {metric(r, study.primary, study.scale):.2f} |'
        )
    lines += [
        '',
        'Each run is `python '
        + runs[0]['command'].split(' --work-dir')[0]
        + ' --work-dir <run folder> --cfg-options randomness.seed=<seed> <options>`; the '
        'exact command of every run is in the json next to this file.',
        '',
    ]
    md = '\n'.join(lines)
    with open(stem + '.md', 'w') as f:
        f.write(md)
    payload = dict(
        study=study.name,
        command=command,
        commit=git_commit(),
        machine=machine(),
        wall_s=wall_s,
        quick=quick,
        seeds=list(study.seeds),
        schedule=list(study.schedule),
        convergence=conv,
        length_check=length,
        claims=claims,
        runs=[{k: v for k, v in r.items() if k not in ('loss', 'scalars')} for r in runs],
    )
    with open(stem + '.json', 'w') as f:
        json.dump(payload, f, indent=1, default=float)
    return md
