"""Read the per-paper data of the model index: ``configs/<paper>/paper_results.yml``.

``tools/model_index.py`` writes ``configs/<paper>/metafile.yml`` from the configs of the folder,
mmext's result files and this data file of the folder, which holds what only a person can write:
the collection (name, architectures, the paper) and the numbers the paper publishes. It is data,
not a metafile: ``model-index.yml`` does not import it, so mim / ``modelindex`` never read it.
Schema (every key below; any other key is an error)::

    Collection:                      # the metafile's ``Collections`` entry
      Name: str
      Architecture: [str, ...]
      Paper: {Title: str, Authors: str, URL: str}    # optional
    Cited As: str                    # how 'Results From' names the paper; needed with Results
    Results:                         # the paper's numbers per config ({} when none)
      <config path relative to configs/<paper>/>:
        Where: str                   # table / section: Results From is 'paper: <Cited As>, <Where>'
        Metrics: {<metric>: number}  # the model's Results metrics, in this order

A file that breaks the schema raises :class:`PaperDataError`, whose message names the file and
the key, e.g. ``configs/tilted_ce/paper_results.yml: Results.<config>.Metrics.mIoU: ...``.
"""

import glob
import math
import os.path as osp
from typing import Dict, Tuple

import yaml

#: name of the data file in each ``configs/<paper>/`` folder
DATA_FILE = 'paper_results.yml'


class PaperDataError(ValueError):
    """A data file that is not valid YAML or breaks the schema; names the file and the key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key twice in one mapping (e.g. a config pasted twice
    with other numbers, where plain YAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f'duplicate key {key!r}', key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


class _File:
    """Checks of one data file; each failure names the file and the dotted key."""

    def __init__(self, shown: str):
        self.shown = shown

    def fail(self, key: str, problem: str):
        raise PaperDataError(f'{self.shown}: {key or "top level"}: {problem}')

    def mapping(self, key: str, value, required=(), optional=()) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f'expected a mapping, got {value!r}')
        problems = []
        missing = [k for k in required if k not in value]
        if missing:
            problems.append(f'missing {", ".join(missing)}')
        unknown = [k for k in value if k not in required and k not in optional]
        if (required or optional) and unknown:
            allowed = ', '.join([*required, *optional])
            problems.append(f'unknown key(s) {unknown} (allowed: {allowed})')
        if problems:
            self.fail(key, '; '.join(problems))
        return value

    def text(self, key: str, value) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f'expected a non-empty string, got {value!r}')
        return value

    def number(self, key: str, value) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            self.fail(key, f'expected a number, got {value!r}')
        return value


def _join(*keys: str) -> str:
    return '.'.join(k for k in keys if k)


def load_paper_data(path: str, repo: str) -> Tuple[dict, Dict[str, dict]]:
    """Read and check one ``configs/<paper>/paper_results.yml``.

    Args:
        path (str): The data file; its folder is the configs folder it describes.
        repo (str): The repository root: errors name ``path`` relative to it when it is inside,
            and the ``README`` of the collection is ``configs/<paper>/README.md``.

    Returns:
        Tuple[dict, Dict[str, dict]]: The metafile's ``Collections`` entry (Name, Metadata,
        Paper when given, README) and, per config (path relative to ``configs/``), the
        paper's numbers as ``dict(source=<Cited As>, where=<Where>, metrics=<Metrics>)``.

    Raises:
        PaperDataError: Invalid YAML, a key missing, unknown or of the wrong type, or a
            ``Results`` entry naming a file the folder does not have.
    """
    rel = osp.relpath(path, repo)
    check = _File(path if rel.startswith('..') else rel.replace(osp.sep, '/'))
    folder = osp.dirname(osp.abspath(path))
    top = osp.basename(folder)
    try:
        with open(path, encoding='utf-8') as f:
            doc = yaml.load(f, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        raise PaperDataError(f'{check.shown}: not valid YAML: {e}') from None
    check.mapping('', doc, required=('Collection', 'Results'), optional=('Cited As',))

    coll_in = check.mapping(
        'Collection', doc['Collection'], required=('Name', 'Architecture'), optional=('Paper',)
    )
    arch = coll_in['Architecture']
    if not isinstance(arch, list) or not arch:
        check.fail('Collection.Architecture', f'expected a non-empty list, got {arch!r}')
    coll = dict(
        Name=check.text('Collection.Name', coll_in['Name']),
        Metadata=dict(
            Architecture=[
                check.text(f'Collection.Architecture[{i}]', a) for i, a in enumerate(arch)
            ]
        ),
    )
    if 'Paper' in coll_in:
        fields = ('Title', 'Authors', 'URL')
        paper = check.mapping('Collection.Paper', coll_in['Paper'], required=fields)
        coll['Paper'] = {k: check.text(f'Collection.Paper.{k}', paper[k]) for k in fields}
    coll['README'] = f'configs/{top}/README.md'

    results = check.mapping('Results', doc['Results'])
    if results and 'Cited As' not in doc:
        check.fail('Cited As', 'missing (Results is not empty: how does Results From cite it?)')
    source = check.text('Cited As', doc['Cited As']) if 'Cited As' in doc else None
    papers = {}
    for config, row in results.items():
        key = _join('Results', str(config))
        if not isinstance(config, str) or not config.endswith('.py'):
            check.fail(key, 'expected a config path ending in .py')
        if not osp.isfile(osp.join(folder, config)):
            check.fail(key, f'no such config: configs/{top}/{config}')
        check.mapping(key, row, required=('Where', 'Metrics'))
        metrics = check.mapping(_join(key, 'Metrics'), row['Metrics'])
        if not metrics:
            check.fail(_join(key, 'Metrics'), 'empty (leave the config out instead)')
        for name, value in metrics.items():
            check.text(_join(key, 'Metrics'), name)
            check.number(_join(key, 'Metrics', name), value)
        papers[f'{top}/{config}'] = dict(
            source=source, where=check.text(_join(key, 'Where'), row['Where']), metrics=metrics
        )
    return coll, papers


def load_all(repo: str) -> Tuple[Dict[str, dict], Dict[str, dict]]:
    """The data of every ``configs/*/paper_results.yml``.

    Returns:
        Tuple[Dict[str, dict], Dict[str, dict]]: Top folder of ``configs/`` -> its
        ``Collections`` entry, and config (relative to ``configs/``) -> the paper's numbers
        (see :func:`load_paper_data`).
    """
    collections, papers = {}, {}
    for path in sorted(glob.glob(osp.join(repo, 'configs', '*', DATA_FILE))):
        coll, rows = load_paper_data(path, repo)
        collections[osp.basename(osp.dirname(path))] = coll
        papers.update(rows)
    return collections, papers
