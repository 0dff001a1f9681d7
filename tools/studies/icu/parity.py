"""Reference parity of the ICU digits study: mmext's arms against the reference arms.

Each mmext arm of :data:`~.settings.PARITY` is paired over seeds with its reference arm (the
public L-GM code's behaviour, the ICU authors' released classifier) in every setting where
both ran: **parity** when the paired difference's 95 % interval lies within
±:data:`~.settings.PARITY_TOL` point. A claim on a gating arm (L-GM) without parity gets no
verdict about the paper (:func:`withhold`); :func:`parity_report` is
``reference_parity.md``.
"""

from typing import Dict, List, Sequence

from tools.studies.harness import Study
from tools.studies.harness.stats import fmt_interval, fmt_pm, mean_std, paired_difference
from tools.studies.icu.settings import GRID, PARITY, PARITY_TOL, REFERENCE, setting_name

#: known implementation differences of each parity pair (the cause named on "no parity")
PARITY_CAUSES = {
    'L-GM': 'likelihood term: Mahalanobis d_z + 1/2 ln det Lambda_z in mmext, Euclidean '
    '1/2 ||x - mu_z||^2 + 1/2 ln det Lambda_z in the reference (the margin logits agree)',
    'ICU': "the authors' released classifier is another model (logits linear in x, 1/4 "
    "log-det, per-sample regulariser, alpha 0); the paper stays the reference for mmext's ICU",
}


def parity_rows(study: Study, runs: Sequence[dict]) -> List[dict]:
    """mmext arm vs its reference arm, per setting where both ran (paired over seeds).

    Args:
        study (Study): The study (its arms, primary metric and scale).
        runs (Sequence[dict]): The finished runs.

    Returns:
        List[dict]: One row per (arm, setting): ``arm``, ``setting``, ``dim``, ``mmext`` and
        ``reference`` (arm names), ``gates``, both arms' ``(mean, std)`` summaries, the
        ``paired`` difference and the ``verdict`` (``parity``, ``no parity`` or
        undetermined).
    """
    names = {v.name for v in study.variants}
    acc = {}
    for r in runs:
        acc.setdefault(r['variant'], {})[r['seed']] = study.scale * float(r['final'][study.primary])
    rows = []
    for (dim, ratio), methods in GRID.items():
        setting = setting_name(dim, ratio)
        for arm, (ref, gates) in PARITY.items():
            mine, theirs = f'{arm} {setting}', f'{ref} {setting}'
            if arm not in methods or ref not in methods or not {mine, theirs} <= names:
                continue
            if mine not in acc or theirs not in acc:
                continue
            p = paired_difference(acc[mine], acc[theirs])
            if p['n'] < 2:
                result = 'undetermined (fewer than 2 paired seeds)'
            elif -PARITY_TOL <= p['lo'] and p['hi'] <= PARITY_TOL:
                result = 'parity'
            else:
                result = 'no parity'
            rows.append(
                dict(
                    arm=arm,
                    setting=setting,
                    dim=dim,
                    mmext=mine,
                    reference=theirs,
                    gates=gates,
                    mmext_summary=mean_std(list(acc[mine].values())),
                    reference_summary=mean_std(list(acc[theirs].values())),
                    paired=p,
                    verdict=result,
                )
            )
    return rows


def withhold(study: Study, runs: List[dict]) -> Dict[str, str]:
    """Claims on an arm without parity to its reference get no verdict about the paper.

    The parity of an arm at ``D``-D balanced covers its claims at every ``D``-D setting; an
    arm whose parity check did not run (or is undetermined) is withheld too.

    Args:
        study (Study): The study (its claims).
        runs (List[dict]): The finished runs.

    Returns:
        Dict[str, str]: Withheld claim -> the reason (the arm's parity state).
    """
    rows = {(r['arm'], r['dim']): r for r in parity_rows(study, runs)}
    out = {}
    for c in study.claims:
        for name in (c.method, c.baseline):
            for arm, (_, gates) in PARITY.items():
                if not gates or not name.startswith(arm + ' '):
                    continue
                dim = int(name.rsplit(' ', 2)[-2].split('-')[0])
                row = rows.get((arm, dim))
                if row is None or row['verdict'] != 'parity':
                    state = 'no parity check ran' if row is None else row['verdict']
                    out[c.name] = f'{arm} {dim}-D: {state} (reference_parity.md)'
    return out


def parity_report(
    study: Study, runs: Sequence[dict], command: str = 'python -m tools.studies.icu_digits'
) -> List[str]:
    """Markdown of ``reference_parity.md``.

    Args:
        study (Study): The study.
        runs (Sequence[dict]): The finished runs.
        command (str): The command named as producing it. Defaults to the study's module.

    Returns:
        List[str]: The file's lines.
    """
    lines = [
        '# Reference parity: mmext vs reference implementations (ICU digits study)',
        '',
        f'Produced by `{command}` (the '
        'report code of `tools/studies/icu_digits.py`, written next to '
        f'`{study.name}.md`, from the same runs: same data, recipe and seeds).',
        '',
        'Reference arms (test-side heads, `tests/models/lgm_reference.py`): `L-GM reference` '
        "= the public PyTorch L-GM code's behaviour (RefLGMClsHead); `ICU authors code` = "
        "the ICU authors' released classifier's behaviour (RefICUAuthorsClsHead). Final val "
        f'top-1 accuracy (%), mean ± sample std over seeds {list(study.seeds)}; paired Δ = '
        'mmext − reference per seed, mean and 95 % t-interval. Verdict: **parity** when the '
        f'interval lies within ±{PARITY_TOL:g} point, **no parity** otherwise (with the '
        'cause). A claim whose mmext arm lacks parity gets no verdict about the paper '
        "(L-GM; the ICU row does not gate: the authors' classifier is not the paper's ICU).",
        '',
        '| mmext arm | reference arm | mmext | reference | paired Δ [95 % CI] | verdict | '
        'gates claims |',
        '|---|---|---|---|---|---|---|',
    ]
    rows = parity_rows(study, runs)
    for r in rows:
        verdict = f'**{r["verdict"]}**'
        if r['verdict'] == 'no parity':
            p = r['paired']
            if p['lo'] > 0 or p['hi'] < 0:
                verdict += (
                    f' (cause: a real difference; known difference: {PARITY_CAUSES[r["arm"]]})'
                )
            else:
                verdict += (
                    f' (cause: not resolved: the interval contains 0 but is wider than '
                    f'±{PARITY_TOL:g} ({p["n"]} seeds); known difference: '
                    f'{PARITY_CAUSES[r["arm"]]})'
                )
        lines.append(
            f'| {r["mmext"]} | {r["reference"]} | {fmt_pm(r["mmext_summary"])} | '
            f'{fmt_pm(r["reference_summary"])} | {fmt_interval(r["paired"])} | {verdict} | '
            f'{"yes" if r["gates"] else "no"} |'
        )
    if not rows:
        lines.append('| (no setting has both arms in this run) | | | | | | |')
    lines += ['', '## Reference recipe and deliberate differences', '', '```text']
    lines += REFERENCE.rstrip().splitlines() + ['```', '']
    return lines
