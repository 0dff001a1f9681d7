"""The ICU digits study's own report sections (:attr:`Study.sections`).

In order: what moved since the first (confounded) run (every arm's accuracy and every
claim's verdict, then and now), the per-class and many / medium / few-shot accuracies, the
reference parity summary (the details written to ``reference_parity.md``) and the Fig. 2
style features figure.
"""

import os.path as osp
from typing import Dict, List, Sequence

from tools.studies.harness import RunContext, Study
from tools.studies.harness.curves import by_variant, length_check
from tools.studies.harness.stats import (
    fmt_interval,
    fmt_pm,
    mean_std,
    paired_difference,
    verdict,
)
from tools.studies.icu.features import plot_features
from tools.studies.icu.first_run import PREVIOUS_ACC, PREVIOUS_CLAIMS
from tools.studies.icu.parity import parity_report, parity_rows, withhold
from tools.studies.icu.settings import GRID, SHOTS, class_counts

#: a cell of an arm or claim of the first run that this run (stage) did not train
NOT_RUN = 'not run in this stage / dropped from the grid'


def moved_table(study: Study, runs: Sequence[dict]) -> List[str]:
    """First run (confounded) -> this run: every arm's accuracy and every claim's verdict.

    Args:
        study (Study): The study (of this stage).
        runs (Sequence[dict]): The finished runs.

    Returns:
        List[str]: The section's markdown lines; a claim withheld here (schedule-length
        check, parity) shows the verdict it would get.
    """
    grouped = by_variant(runs)
    acc = {
        name: {s: study.scale * float(r['final'][study.primary]) for s, r in rs.items()}
        for name, rs in grouped.items()
    }
    lines = [
        '## What moved: first run (confounded) -> this run',
        '',
        'First run: commit e1edb91 (mmengine Kaiming init of LeNet++, Gaussian parameters at '
        "the network's lr, L-GM alpha 0.1 / lambda 0.01); this run: the settings above. Final "
        'val accuracy (%), mean ± std over seeds.',
        '',
        '| arm | first run | this run |',
        '|---|---|---|',
    ]
    arms = [v.name for v in study.variants]
    for name in arms + [n for n in PREVIOUS_ACC if n not in arms]:
        old = PREVIOUS_ACC.get(name)
        old_txt = f'{old[0]:.2f} ± {old[1]:.2f}' if old else '(new arm)'
        now = fmt_pm(mean_std(list(acc[name].values()))) if name in acc else NOT_RUN
        lines.append(f'| {name} | {old_txt} | {now} |')
    short = []
    if study.length_checked:
        short = [r['variant'] for r in length_check(study, grouped) if not r['converged']]
    held = withhold(study, list(runs))
    lines += [
        '',
        '| claim | first run Δ [95 % CI] | verdict | this run Δ [95 % CI] | verdict |',
        '|---|---|---|---|---|',
    ]
    for c in study.claims:
        p = paired_difference(
            {s: study.scale * float(r['final'][c.metric]) for s, r in grouped[c.method].items()},
            {s: study.scale * float(r['final'][c.metric]) for s, r in grouped[c.baseline].items()},
        )
        now = verdict(p['lo'], p['hi'], c.direction)
        if short:
            now = f'withheld (schedule-length check failed; would be: {now})'
        elif c.name in held:
            now = f'withheld ({held[c.name]}; would be: {now})'
        old = PREVIOUS_CLAIMS.get(c.name)
        old_txt = f'{old[0]:+.2f} [{old[1]:+.2f}, {old[2]:+.2f}]' if old else '(new claim)'
        lines.append(
            f'| {c.name} | {old_txt} | {old[3] if old else "-"} | {fmt_interval(p)} | {now} |'
        )
    names = {c.name for c in study.claims}
    for name, old in PREVIOUS_CLAIMS.items():
        if name not in names:
            lines.append(
                f'| {name} | {old[0]:+.2f} [{old[1]:+.2f}, {old[2]:+.2f}] | {old[3]} | '
                f'{NOT_RUN} | - |'
            )
    return lines + ['']


def shot_table(study: Study, runs: Sequence[dict]) -> List[str]:
    """Mean over seeds of the shot-group and per-class accuracies of every arm.

    Args:
        study (Study): The study.
        runs (Sequence[dict]): The finished runs.

    Returns:
        List[str]: The section's markdown lines.
    """
    lines = [
        '## Per-class and many / medium / few-shot accuracy (%)',
        '',
        'Mean ± sample std over seeds. Classes in each group: '
        + '; '.join(
            f'ratio {r:g}: ' + ', '.join(f'{g} {len(ms)}' for g, ms in _groups(r).items())
            for r in sorted({r for _, r in GRID})
        )
        + '.',
        '',
        '| arm | many | medium | few | ' + ' | '.join(str(k) for k in range(10)) + ' |',
        '|---|---|---|---|' + '---|' * 10,
    ]
    for v in study.variants:
        rs = [r for r in runs if r['variant'] == v.name]
        cells = []
        for key in ['many', 'medium', 'few'] + [str(k) for k in range(10)]:
            vals = [r['final'].get(f'class_acc/{key}') for r in rs]
            vals = [float(x) for x in vals if x is not None]
            cells.append(fmt_pm(mean_std(vals), 1) if vals else '-')
        lines.append(f'| {v.name} | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def _groups(ratio: float) -> Dict[str, list]:
    """Many / medium / few-shot classes of the train split of imbalance ratio ``ratio``."""
    from mmext.evaluation.metrics.class_accuracy_metric import shot_groups

    return shot_groups(class_counts(ratio), *SHOTS)


def sections(study: Study, runs: List[dict], context: RunContext) -> List[str]:
    """The study's report sections; writes ``reference_parity.md`` and the feature figure
    into the report's folder (``context.out_dir``).

    Args:
        study (Study): The study (of this stage).
        runs (List[dict]): The finished runs.
        context (RunContext): This invocation (report folder, command, ``--quick``).

    Returns:
        List[str]: The sections' markdown lines.
    """
    lines = moved_table(study, runs)
    lines += shot_table(study, runs)
    lines += ['## Reference parity', '']
    rows = parity_rows(study, runs)
    for r in rows:
        lines.append(
            f'- {r["mmext"]} vs {r["reference"]}: **{r["verdict"]}** '
            f'(gates its claims: {"yes" if r["gates"] else "no"})'
        )
    lines += ['', 'Details: `reference_parity.md`.', '']
    lines += ['## Features (Fig. 2 style)', '']
    with open(osp.join(context.out_dir, 'reference_parity.md'), 'w') as f:
        f.write('\n'.join(parity_report(study, runs, context.command)))
    path = osp.join(context.out_dir, f'{study.name}_features.png')
    lines.append(plot_features(study, runs, path, context.quick))
    return lines + ['']
