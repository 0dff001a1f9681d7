"""The measured numbers quoted in the READMEs are the numbers in the results files, and
every results file names the command that wrote it.

Every number in README.md, CONTRIBUTING.md and ``configs/**/README.md`` written with two
decimals (the precision the study reports and benchmarks write) must occur, with its sign,
in a results file written by a repo script (``docs/results/*.md``,
``benchmarks/results/*.md``), unless it is listed in ``NOT_MEASURED`` with the reason (a
paper's number, a config value). This catches a README left behind when a study is rerun or
a number copied wrongly; it cannot tell which results file a number belongs to.
"""

import glob
import os.path as osp
import re
from typing import Dict, List, Set, Tuple

import pytest

from tests.scripts import REPO

RESULTS = ('docs/results/*.md', 'benchmarks/results/*.md')
DOCS = ('README.md', 'CONTRIBUTING.md', 'configs/**/README.md')
# two decimals, optional sign, optional ratio sign ``x`` (2.30x); not part of a longer
# number, a version or a name
NUMBER = re.compile(r'(?<![\w.])-?\d+\.\d\d(?=x\b|[^\w.]|$)')
# (doc, number): why it is not a measurement of ours
NOT_MEASURED: Dict[Tuple[str, str], str] = {
    ('configs/bag_of_freebies/digits/README.md', '1.98'): "the paper's Table 5 gain",
    ('configs/bag_of_freebies/digits/README.md', '2.04'): "the paper's Table 5 gain",
    ('configs/icu_loss/README.md', '0.02'): "the ICU authors' released config lr",
    ('CONTRIBUTING.md', '3.11'): 'the Python version',
}


def numbers(text: str) -> List[str]:
    """Two-decimal numbers of a markdown text, signs normalised (``−`` -> ``-``, no ``+``)."""
    return NUMBER.findall(text.replace('\u2212', '-').replace('+', ''))


def read(relpath: str) -> str:
    with open(osp.join(REPO, relpath), encoding='utf-8') as f:
        return f.read()


def files(patterns) -> List[str]:
    return sorted(
        osp.relpath(p, REPO)
        for pattern in patterns
        for p in glob.glob(osp.join(REPO, pattern), recursive=True)
    )


def unmatched(doc: str, text: str, measured: Set[str]) -> List[str]:
    """Numbers of ``text`` (the doc ``doc``) in no results file and not in NOT_MEASURED."""
    return [n for n in numbers(text) if n not in measured and (doc, n) not in NOT_MEASURED]


@pytest.fixture(scope='module')
def measured() -> Set[str]:
    found = files(RESULTS)
    assert len(found) >= 10, found  # the studies' and benchmarks' reports are there
    return {n for path in found for n in numbers(read(path))}


def test_number_pattern_reads_signs_and_skips_versions():
    text = 'Δ −2.84 [−3.74, +1.94]; mmcv 2.1.0, torch 2.14.1; lr 0.01; 1.5 h; 12.555; 2.30x; v1.25a'
    assert numbers(text) == ['-2.84', '-3.74', '1.94', '0.01', '2.30']


@pytest.mark.parametrize('doc', files(DOCS))
def test_every_two_decimal_number_of_the_docs_is_measured(doc, measured):
    assert unmatched(doc, read(doc), measured) == []


def test_a_wrong_number_or_sign_is_reported(measured):
    row = next(
        line
        for line in read('README.md').splitlines()
        if line.startswith('| Extension, not in the paper')
    )
    assert numbers(row) and unmatched('README.md', row, measured) == []
    assert unmatched('README.md', row + ' 999.99', measured) == ['999.99']
    # a negative difference copied without its sign
    flip = next(n for n in numbers(row) if n.startswith('-') and n[1:] not in measured)
    dropped = row.replace('\u2212' + flip[1:], flip[1:], 1)
    assert unmatched('README.md', dropped, measured) == [flip[1:]]


@pytest.mark.parametrize('result', files(RESULTS))
def test_every_results_file_names_the_script_that_wrote_it(result):
    # `[VAR=value ][python ]tools|benchmarks/<script>.py[ args]`
    command = r'`(?:[A-Z_]+=\S+ )?(?:python )?((?:tools|benchmarks)/[\w/]+\.py)[^`]*`'
    scripts = re.findall(command, read(result))
    assert scripts, f'{result} names no command (`python <script> ...`)'
    assert all(osp.isfile(osp.join(REPO, s)) for s in scripts), scripts


def test_every_exception_is_still_quoted():
    # (an exception may also occur in a results file by coincidence: not checked)
    for (doc, number), reason in NOT_MEASURED.items():
        assert number in numbers(read(doc)), (doc, number, reason)
