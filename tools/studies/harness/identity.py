"""Run ids of every study, to check that a change of spelling keeps every arm's merged config.

A run's id (:meth:`~.cache.RunCache.run_id`) is the digest of the config it trains, merged with
its bases, seed and ``--quick``'s options. Moving a study's settings from option strings into
leaf configs (or renaming arms, or sharing a ``_base_``, or rewriting a leaf) must leave
every id unchanged, so that the run cache still hits and nothing is retrained. This lists
the ids of every study module under ``tools/studies`` (and ``pilots``), every arm, every
seed, the 2x length-check arms and the ``--quick`` runs, and compares two listings::

    python -m tools.studies.harness.identity --out /tmp/ids_before.json   # before the change
    python -m tools.studies.harness.identity --compare /tmp/ids_before.json

The comparison matches runs by (study, arm, seed, mode) and prints every id that changed,
every run that appeared or vanished, and the counts; it exits with 1 when an id changed.
Options that a study's preparation adds at run time are not seen (no study adds any).
"""

import argparse
import importlib
import json
import pkgutil
import sys
from typing import Dict, Iterator, Optional, Sequence, Tuple

from tools.studies.harness.cache import RunCache
from tools.studies.harness.study import Study

PACKAGES = ('tools.studies', 'tools.studies.pilots')


def studies() -> Iterator[Tuple[str, Study]]:
    """``(module name, STUDY)`` of every study module (modules without ``STUDY`` skipped)."""
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            if info.ispkg:
                continue
            module = importlib.import_module(f'{package}.{info.name}')
            study = getattr(module, 'STUDY', None)
            if isinstance(study, Study):
                yield module.__name__, study


def run_ids(study: Study) -> Dict[str, str]:
    """``'<mode>|<arm>|seed<seed>' -> run id`` of every run of ``study``.

    Args:
        study (Study): The study.

    Returns:
        dict: Modes ``run`` and ``quick`` (``--quick`` runs the first seed only).
    """
    arms = list(study.variants) + list(study.length_variants().values())
    ids = {}
    for mode, seeds in (('run', study.seeds), ('quick', study.seeds[:1])):
        cache = RunCache(study, '/nonexistent', quick=mode == 'quick')
        for variant in arms:
            for seed in seeds:
                ids[f'{mode}|{variant.name}|seed{seed}'] = cache.run_id(variant, seed)
    return ids


def listing(only: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, str]]:
    """The run ids of every study (or of the modules named in ``only``)."""
    out = {}
    for name, study in studies():
        if only and name.rsplit('.', 1)[-1] not in only:
            continue
        out[name] = run_ids(study)
        print(f'{name}: {len(out[name])} runs', file=sys.stderr, flush=True)
    return out


def compare(before: Dict[str, Dict[str, str]], after: Dict[str, Dict[str, str]]) -> int:
    """Print the differences of two listings; returns the number of changed ids."""
    changed = same = 0
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        for run in sorted(set(old) | set(new)):
            if run not in new:
                print(f'vanished  {name} {run}')
            elif run not in old:
                print(f'new       {name} {run} {new[run]}')
            elif old[run] != new[run]:
                changed += 1
                print(f'CHANGED   {name} {run} {old[run]} -> {new[run]}')
            else:
                same += 1
    print(f'{same} run ids identical, {changed} changed')
    return changed


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', help='write the listing (JSON) here')
    parser.add_argument('--compare', help='compare with this listing (JSON)')
    parser.add_argument('--only', nargs='+', metavar='MODULE', help='only these study modules')
    args = parser.parse_args(argv)
    now = listing(args.only)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(now, f, indent=1, sort_keys=True)
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        if args.only:
            before = {k: v for k, v in before.items() if k.rsplit('.', 1)[-1] in args.only}
        return 1 if compare(before, now) else 0
    return 0


if __name__ == '__main__':
    sys.exit(main())
