"""What each published study can resolve: its smallest detectable effect vs the paper's effect.

Reads every ``docs/results/<study>.json`` written by the experiment harness (their ``claims``
keep the per-seed paired differences ``diffs``), recomputes for every claim the paired
difference's mean and 95 % t-interval, the **smallest detectable effect** -- the interval's
half-width ``t_{0.975, n-1} * sd / sqrt(n)`` over the ``n`` seeds (an observed mean difference
at least this large excludes 0; :func:`tools.studies.harness.stats.smallest_detectable`)
-- and,
against the paper's own effect size for that comparison:

* resolvable: ``yes`` when the half-width is below ``|paper effect|``;
* seeds needed: the fewest ``n`` with ``t_{0.975, n-1} * sd / sqrt(n) < |paper effect|`` at the
  measured ``sd`` (``not within 50`` beyond 50;
  :func:`tools.studies.harness.stats.seeds_needed`);
* val data x: at the study's seeds, how many times more validation data would shrink the
  half-width below the paper's effect **if all of the spread were the sampling noise of the
  validation set** (variance ~ 1 / size): ``(half-width / |paper effect|)^2``. Seed variance
  of training does not shrink with the val set, so this is a lower bound on the data needed;
* the verdict with the paper's effect (:func:`tools.studies.harness.stats.verdict`):
  ``below this proxy's resolution`` where the interval contains 0 and the paper's effect is
  below the half-width.

The paper's effects come from the study modules' ``CLAIMS`` (``Claim.paper_effect``) where set,
otherwise from :data:`PAPER_EFFECTS` below (each entry cites its table).

    python tools/analysis/claim_resolution.py     # or: python -m tools.analysis.claim_resolution

Writes ``docs/results/claim_resolution.md``.
"""

import argparse
import glob
import importlib
import json
import math
import os.path as osp
import runpy
import sys
from typing import Dict, List, Optional, Sequence, Tuple

if not __package__:  # python tools/analysis/claim_resolution.py, not -m: tools/_bootstrap.py
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))

from tools import REPO  # noqa: E402
from tools.model_index import is_kept_copy  # noqa: E402
from tools.studies.harness import stats  # noqa: E402

TCE_WORST = (5.01, 'TCE Table 1, 53.47 - 48.46')  # worst class (wall), TCE t = 1 vs MCCE
TCE_WORST_01 = (0.90, 'TCE Table 1, 49.36 - 48.46')  # TCE t = 0.1
TCE_STD = (-0.99, 'TCE Table 3, 13.57 - 14.56')  # std of the 19 class IoUs
TCE_BOTTOM = (6.60, 'TCE Table 3, 64.29 - 57.69')  # sorted bottom 25 %
BB_CE = (0.438, 'BB Sec. III, CE 76.788, "an increase of 0.438%"')
BB_DICE = (0.902, 'BB Sec. III, Soft Dice 73.964 - 73.062')
BB_IOU = (3.755, 'BB Sec. III, Soft IoU 65.700 - 61.945')

#: study -> claim -> (the paper's effect in the metric's units, its source), for the claims
#: whose study module does not carry ``Claim.paper_effect``; signed as the paper's change.
PAPER_EFFECTS: Dict[str, Dict[str, Tuple[float, str]]] = {
    # Tilted CE (tilted-cross-entropy.txt): DLv3+ R-101 on Cityscapes val, TCE t = 1 / 0.1 vs
    # MCCE. Worst class (Table 1): wall 48.46 -> 53.47 (t = 1), 49.36 (t = 0.1); std of the
    # class IoUs (Table 3): 13.57 vs 14.56 (MCCE: population std of Table 1's 19 IoUs; Sec. 4:
    # "improved (decreased) by +1%"); sorted bottom 25 % (Table 3): 64.29 vs 57.69. The
    # paper's TCE rows are Stochastic TCE; the Eq. 2 / 3 arms are held to the same effect.
    # The paper has no t = 0 arm: the tilt-vs-t=0 claims have no paper effect.
    'tce_digits': {
        'class-level TCE raises the worst-class IoU': TCE_WORST,
        'class-level TCE lowers the std of class IoUs': TCE_STD,
        'class-level TCE raises the bottom 25 %': TCE_BOTTOM,
        'image-level TCE raises the worst-class IoU': TCE_WORST,
        'Stochastic TCE raises the worst-class IoU': TCE_WORST,
        'Stochastic TCE lowers the std of class IoUs': TCE_STD,
        'Stochastic TCE (t=0.1) raises the worst-class IoU': TCE_WORST_01,
    },
    # Balance-batch (balance-batch.txt, Sec. III: the best batch_cl vs the best plain batch
    # size): CE 76.353 -> 76.788, Soft IoU 61.945 -> 65.700, Soft Dice 73.062 -> 73.964 mIoU
    'balance_batch_digits': {
        'Balance-batch raises mIoU (CE, same batch_max)': BB_CE,
        'Balance-batch raises mIoU (CE, same images seen)': BB_CE,
        'fixed-size Balance-batch raises mIoU (CE)': BB_CE,
        'Balance-batch raises mIoU (Soft Dice, same batch_max)': BB_DICE,
        'Balance-batch raises mIoU (Soft Dice, same images seen)': BB_DICE,
        'fixed-size Balance-batch raises mIoU (Soft Dice)': BB_DICE,
        'Balance-batch raises mIoU (Soft IoU, same batch_max)': BB_IOU,
        'Balance-batch raises mIoU (Soft IoU, same images seen)': BB_IOU,
        'fixed-size Balance-batch raises mIoU (Soft IoU)': BB_IOU,
    },
    # ICU (icu-loss.txt) Table 1, MNIST 2-D: softmax 98.18, L-GM 98.83, ICU 99.04
    'icu_digits': {
        'Table 1 (MNIST 2-D): ICU beats softmax': (0.86, 'ICU Table 1, 99.04 - 98.18'),
        'Table 1 (MNIST 2-D): ICU beats L-GM': (0.21, 'ICU Table 1, 99.04 - 98.83'),
        'Table 1 (MNIST 2-D): L-GM beats softmax': (0.65, 'ICU Table 1, 98.83 - 98.18'),
    },
    # Bag of Freebies (bag-of-freebies-detection.txt) Table 3, Faster R-CNN on VOC 2007:
    # baseline 77.77, + cosine 79.59, + label smoothing 80.23, + mixup 81.32 (Delta +3.55);
    # mAP@[.5:.95]: Table 4 (COCO), Faster R-CNN R50 36.5 -> 37.6 with the bag
    'freebies_frcnn_digits': {
        'cosine lr raises mAP': (1.82, 'BoF Table 3, 79.59 - 77.77'),
        'class label smoothing raises mAP (on top)': (0.64, 'BoF Table 3, 80.23 - 79.59'),
        'mixup raises mAP (on top)': (1.09, 'BoF Table 3, 81.32 - 80.23'),
        'the whole bag raises mAP': (3.55, 'BoF Table 3, Delta of + mixup'),
        'the whole bag raises mAP@[.5:.95]': (1.1, 'BoF Table 4, COCO R50 37.6 - 36.5'),
    },
}

HEADER = (
    '| study | claim | metric | n seeds | paired Δ mean [95 % CI] | smallest detectable effect '
    "| paper's effect (source) | resolvable | seeds needed | val data × | published verdict "
    "| verdict with the paper's effect |"
)


def module_effects(study: str) -> Dict[str, Tuple[float, str]]:
    """``claim -> (paper_effect, paper_source)`` from the claims of ``tools/studies/<study>.py``
    (or ``tools/studies/pilots/<study>.py``); empty when the module is missing, fails to
    import or sets no effect."""
    for name in (f'tools.studies.{study}', f'tools.studies.pilots.{study}'):
        try:
            module = importlib.import_module(name)
            break
        except Exception:  # a study under edit, or one without a module: the table decides
            continue
    else:
        return {}
    claims = getattr(getattr(module, 'STUDY', None), 'claims', None) or getattr(
        module, 'CLAIMS', []
    )
    return {
        c.name: (float(c.paper_effect), c.paper_source or f'{study}.py')
        for c in claims
        if getattr(c, 'paper_effect', None) is not None
    }


def resolve(diffs: Sequence[float], direction: int, effect: Optional[float]) -> Dict[str, object]:
    """Resolution of one claim from its per-seed paired differences.

    Args:
        diffs (Sequence[float]): Per-seed ``method - baseline`` (metric units).
        direction (int): ``+1`` when the claim is a rise, ``-1`` a fall.
        effect (float, optional): The paper's effect (signed, metric units).

    Returns:
        dict: ``paired`` (:func:`~tools.studies.harness.stats.paired_difference`), ``half``
        (smallest detectable effect), ``resolvable`` (bool or None without an effect),
        ``seeds`` (seeds needed, None beyond the cap or without an effect), ``data`` (val
        data factor ``(half / |effect|)^2``, None when resolvable or without an effect) and
        ``verdict`` (with the paper's effect).
    """
    paired = stats.paired_difference(dict(enumerate(diffs)), {k: 0.0 for k in range(len(diffs))})
    half = stats.smallest_detectable(paired)
    out: Dict[str, object] = dict(
        paired=paired,
        half=half,
        resolvable=None,
        seeds=None,
        data=None,
        verdict=stats.verdict(paired['lo'], paired['hi'], direction, effect),
    )
    if effect is not None and math.isfinite(half):
        out['resolvable'] = half < abs(effect)
        out['seeds'] = stats.seeds_needed(float(paired['std']), effect)
        if not out['resolvable'] and effect != 0:
            out['data'] = (half / abs(effect)) ** 2
    return out


def rows(results_dir: str) -> List[dict]:
    """One row per claim of every study JSON in ``results_dir`` (studies in name order)."""
    out = []
    for path in sorted(glob.glob(osp.join(results_dir, '*.json'))):
        with open(path) as f:
            data = json.load(f)
        claims = data.get('claims') or []
        if not claims or 'runs' not in data or is_kept_copy(path, data):
            continue
        study = data.get('study') or osp.splitext(osp.basename(path))[0]
        effects = dict(PAPER_EFFECTS.get(study, {}))
        effects.update(module_effects(study))
        for c in claims:
            effect, source = effects.get(c['claim'], (None, ''))
            r = resolve(c['diffs'], c['direction'], effect)
            published = c['verdict']
            if published == 'withheld':
                published = f'withheld ({c.get("withheld", "")})'
            out.append(
                dict(
                    study=study,
                    claim=c['claim'],
                    metric=c['metric'],
                    direction=c['direction'],
                    effect=effect,
                    source=source,
                    published=published,
                    withheld=c['verdict'] == 'withheld',
                    **r,
                )
            )
    return out


def fmt_row(r: dict) -> str:
    """Markdown row of :func:`rows`' dict."""
    p, half = r['paired'], r['half']
    arrow = '↑' if r['direction'] > 0 else '↓'
    if r['effect'] is None:
        paper, resolvable, seeds, data = 'none (not in the paper)', 'n/a', 'n/a', 'n/a'
    else:
        paper = f'{r["effect"]:+.2f} ({r["source"]})'
        resolvable = 'n/a' if r['resolvable'] is None else ('yes' if r['resolvable'] else 'no')
        seeds = stats.fmt_seeds(r['seeds'])
        data = '' if r['data'] is None else f'{r["data"]:.1f}'
        data = data or ('—' if r['resolvable'] else 'n/a')
    verdict = r['verdict'] + (' (withheld in the study)' if r['withheld'] else '')
    return (
        f'| {r["study"]} | {r["claim"]} | {r["metric"]} {arrow} | {p["n"]} | '
        f'{stats.fmt_interval(p)} | ±{half:.2f} | {paper} | {resolvable} | {seeds} | {data} | '
        f'{r["published"]} | {verdict} |'
    )


def write(results_dir: str, out: str, command: str) -> str:
    """Write the markdown to ``out``; returns it."""
    from tools.studies.harness.report import git_commit

    table = rows(results_dir)
    n_eff = [r for r in table if r['effect'] is not None]
    below = [r for r in n_eff if r['resolvable'] is False]
    lines = [
        "# Claim resolution: each study's smallest detectable effect vs the paper's effect",
        '',
        f'Produced by `{command}` at commit `{git_commit(out)}` from the published '
        f'`{osp.relpath(results_dir, REPO)}/<study>.json` files (their per-seed paired '
        'differences; nothing retrained).',
        '',
        'Rules (`tools/studies/harness/stats.py`): smallest detectable effect = the half-width of '
        'the 95 % t-interval of the paired difference, t_{0.975, n-1} · sd / √n over the n '
        'seeds (an observed Δ at least this large excludes 0; a true effect of that size is '
        "detected about half the time); resolvable = the paper's |effect| is larger than "
        'it; seeds needed = the fewest n with t_{0.975, n-1} · sd / √n < |paper effect| at '
        f'the measured sd (capped at {stats.SEEDS_CAP}); val data × = (half-width / |paper '
        'effect|)², the factor by which the validation set would have to grow at the same '
        'seeds if all of the spread were its sampling noise (training-seed variance does not '
        "shrink with it: a lower bound); verdict with the paper's effect: \"below this proxy's "
        'resolution" where the interval contains 0 and the paper\'s effect is below the '
        "half-width, else the study's rule (reproduced / not reproduced / inconclusive).",
        '',
        f'{len(table)} claims, {len(n_eff)} with a paper effect; {len(below)} of those are '
        "below the resolution of their study's seeds.",
        '',
        HEADER,
        '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    lines += [fmt_row(r) for r in table]
    lines += [
        '',
        'Paper effects: `Claim.paper_effect` of the study modules (Bag of Freebies Tables 1, 2, '
        '4, 5, 6) and `PAPER_EFFECTS` of this script (TCE Tables 1 and 3, Balance-batch '
        'Sec. III, ICU Table 1, Bag of Freebies Tables 3 and 4), each citing its table.',
        '',
    ]
    md = '\n'.join(lines)
    with open(out, 'w') as f:
        f.write(md)
    return md


def main(argv: Optional[Sequence[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--results', default=osp.join(REPO, 'docs', 'results'))
    parser.add_argument('--out', default=None, help='default <results>/claim_resolution.md')
    args = parser.parse_args(argv)
    out = args.out or osp.join(args.results, 'claim_resolution.md')
    command = ' '.join(['python', 'tools/analysis/claim_resolution.py', *(argv or [])])
    return write(args.results, out, command)


if __name__ == '__main__':
    main(sys.argv[1:])
