"""The one report writer of mmext's studies: markdown + json + PNG of the curves.

The markdown opens with the exact command, the git commit, the machine, the wall and CPU
time, and a warning when a baseline has not converged; then the setup, the study's
``REFERENCE`` block (``## Reference recipe``: the authors' recipe followed and every
deliberate difference; a warning when the study has none), the convergence table, the
results (mean ± sample std over seeds), the paired differences of every variant to its
baseline, the verdict of every claim (with the smallest effect the study can detect next to
the paper's own effect size, :mod:`.verdicts`), the study's own sections and the list of
every run. The curves, the convergence tables and the figure are :mod:`.curves`.
"""

import datetime
import json
import os
import os.path as osp
import platform
import subprocess
import warnings
from typing import Dict, List, Optional, Sequence

from tools import REPO
from tools.studies.harness.cache import RunCache
from tools.studies.harness.curves import (
    by_variant,
    convergence,
    convergence_table,
    length_check,
    length_table,
    metric,
    plot_curves,
    replot,
)
from tools.studies.harness.stats import fmt_interval, fmt_pm, mean_std, paired_difference
from tools.studies.harness.study import RunContext, Study
from tools.studies.harness.verdicts import verdict_section

__all__ = [
    'git_commit',
    'machine',
    'name_configs',
    'replot',
    'rereport',
    'reference_section',
    'write_report',
]


def git_commit(own: str = '') -> str:
    """``<sha>`` of HEAD, with ``+ uncommitted changes`` when the tree is dirty.

    Args:
        own (str): Path prefix (e.g. ``'/.../docs/results/<study>'``) of the files the caller is
            writing: their edits are the output being produced, not a change of the code that
            produced it, so they do not count as dirty. Defaults to ``''`` (every file counts).

    Returns:
        str: E.g. ``'513d818cdb'`` or ``'513d818cdb + uncommitted changes'``.
    """

    def git(*args: str) -> str:
        return subprocess.run(['git', *args], cwd=REPO, capture_output=True, text=True).stdout

    sha = git('rev-parse', '--short=10', 'HEAD').strip() or 'unknown'
    prefix = osp.relpath(own, REPO) if own else None
    changed = [
        line[3:]  # porcelain v1: two status letters, a space, the path
        for line in git('status', '--porcelain', '--untracked-files=no').splitlines()
        if line.strip()
    ]
    dirty = [path for path in changed if prefix is None or not path.startswith(prefix)]
    return sha + (' + uncommitted changes' if dirty else '')


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{os.cpu_count()} x {cpu}, Python {platform.python_version()}'


#: how a re-report's provenance starts (after the run's own "Produced by" line)
REREPORTED = ' Tables and verdicts re-reported'


def name_configs(study: Study, runs: Sequence[dict]) -> None:
    """Give each run record without a ``config`` the config of its arm, where its folder's
    run id proves that this config, merged with the run's seed, is what it trained.

    Records written before the arms were leaf configs name the former config and options
    in their ``command``; the model index reads ``config``. A record whose id does not
    match (the arm changed since) is left as it is.

    Args:
        study (Study): The study (its arms and their 2x arms).
        runs (Sequence[dict]): Run records, updated in place.
    """
    arms = {v.name: v for v in study.variants}
    arms.update({v.name: v for v in study.length_variants().values()})
    cache = RunCache(study, work_dir='')  # run ids only: no folder is read
    for run in runs:
        arm = arms.get(run['variant'])
        if 'config' in run or arm is None:
            continue
        if run['run_dir'].endswith('_' + cache.run_id(arm, run['seed'])):
            run['config'] = arm.config


def rereport(study: Study, out_dir: str, command: str, context: Optional[RunContext] = None) -> str:
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
        context (RunContext, optional): This invocation, for the study's sections. Defaults
            to one of ``out_dir`` and ``command``.

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
    longs = {v.name for v in study.length_variants().values()}
    names = set(r['variant'] for r in runs)
    unknown = sorted(names - {v.name for v in study.variants} - longs)
    if unknown:
        raise ValueError(
            f'{stem}.json holds arms this study no longer defines: {unknown}; rerun the study'
        )
    sub = study.subset([v.name for v in study.variants if v.name in names])
    pending = [v.name for v in study.variants if v.name not in names]
    if not payload.get('quick'):
        name_configs(study, runs)
    old = ''
    if osp.isfile(stem + '.md'):
        with open(stem + '.md') as f:
            old = next((ln for ln in f if ln.startswith('Produced by ')), '').strip()
    old = old.split(REREPORTED)[0]  # the run's own line; an earlier re-report is replaced
    provenance = (
        (old or f'Produced by `{payload.get("command", "?")}`.')
        + f'{REREPORTED} from its JSON (nothing retrained) by `{command}` at '
        f'commit `{git_commit(stem)}` on {datetime.date.today().isoformat()}'
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
        context=context or RunContext(command=command, out_dir=out_dir),
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


def write_report(
    study: Study,
    runs: Sequence[dict],
    out_dir: str,
    command: str,
    wall_s: float,
    quick: bool = False,
    provenance: Optional[str] = None,
    context: Optional[RunContext] = None,
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
        context (RunContext, optional): This invocation, passed to the study's ``sections``.
            Defaults to one of ``command``, ``out_dir`` and ``quick``.
    """
    if context is None:
        context = RunContext(command=command, out_dir=out_dir, quick=quick)
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
    length = length_check(study, grouped) if study.length_checked else None
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
            f'Produced by `{command}` at commit `{git_commit(stem)}` on '
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
            f'Seeds {list(study.seeds)} for every variant; each variant trains its config as '
            'it is (the seed its only option'
            + (", and `--quick`'s shortening" if quick else '')
            + ').',
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
            '(no `Variant.long_config`). The convergence table below uses the gain of the '
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
    verdict_lines, claims = verdict_section(study, grouped, withheld)
    lines += [''] + verdict_lines
    if study.sections is not None:
        lines += [''] + study.sections(study, list(runs), context)
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
        + runs[0]['command'].split(' ')[0]
        + " <its variant's config> --work-dir <run folder> --cfg-options randomness.seed=<seed>"
        + (' <quick options>' if quick else '')
        + '`; the exact command of every run is in the json next to this file.',
        '',
    ]
    md = '\n'.join(lines)
    with open(stem + '.md', 'w') as f:
        f.write(md)
    payload = dict(
        study=study.name,
        command=command,
        commit=git_commit(stem),
        machine=machine(),
        wall_s=wall_s,
        quick=quick,
        seeds=list(study.seeds),
        convergence=conv,
        length_check=length,
        claims=claims,
        runs=[{k: v for k, v in r.items() if k not in ('loss', 'scalars')} for r in runs],
    )
    with open(stem + '.json', 'w') as f:
        json.dump(payload, f, indent=1, default=float)
    return md
