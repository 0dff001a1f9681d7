"""The verdicts of a study's claims: the paired difference of each claim's two arms, its
verdict (:func:`~.stats.verdict`), the smallest effect the study can detect next to the
paper's own effect size and the seeds that would resolve it (:func:`claim_cells`), as the
report's ``## Verdicts`` table (:func:`verdict_section`)."""

from typing import Dict, List, Tuple

import numpy as np

from tools.studies.harness.curves import metric
from tools.studies.harness.stats import (
    BELOW_RESOLUTION,
    fmt_interval,
    fmt_seeds,
    paired_difference,
    seeds_needed,
    smallest_detectable,
    verdict,
)
from tools.studies.harness.study import Study

#: the verdict legend's definition of the smallest detectable effect
RESOLUTION_RULE = (
    'smallest detectable effect: the half-width of the 95 % interval of the paired '
    'difference, t_{0.975, n-1} · sd / √n over the n seeds (an observed Δ at least this '
    "large excludes 0); below this proxy's resolution: the interval contains 0 and the "
    "paper's own effect is smaller than that, so the study could not have seen it (the "
    "seeds that would resolve the paper's effect at this spread are named)"
)


def claim_cells(c, p: dict, v: str) -> Dict[str, object]:
    """Resolution of one claim: smallest detectable effect, paper's effect, seeds needed.

    Args:
        c (Claim): The claim (``paper_effect`` / ``paper_source`` read).
        p (dict): :func:`~.stats.paired_difference` of the claim.
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


def verdict_section(
    study: Study, grouped, withheld: Dict[str, str]
) -> Tuple[List[str], List[dict]]:
    """Markdown of the ``## Verdicts`` section and the claims' records of the JSON.

    Args:
        study (Study): The study.
        grouped: :func:`~.curves.by_variant` of the runs.
        withheld (Dict[str, str]): Claims that get no verdict, with the reason.

    Returns:
        tuple: ``(lines, claims)``.
    """
    lines = ['## Verdicts', '']
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
    return lines, claims
