"""The commit a study report names: its own output files do not make the tree "dirty"."""

import os.path as osp
import subprocess

import pytest

from tools.studies.harness import report


def _git(repo: str, *args: str) -> None:
    subprocess.run(['git', *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with a tracked report and a tracked source file, both committed."""
    root = str(tmp_path)
    _git(root, 'init', '-q')
    _git(root, 'config', 'user.email', 'test@example.com')
    _git(root, 'config', 'user.name', 'test')
    for rel in ('docs/results/study_a.md', 'docs/results/study_a.json', 'tools/study_a.py'):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('v1\n')
    _git(root, 'add', '-A')
    _git(root, 'commit', '-q', '-m', 'first')
    monkeypatch.setattr(report, 'REPO', root)
    return tmp_path


def _sha(root) -> str:
    out = subprocess.run(
        ['git', 'rev-parse', '--short=10', 'HEAD'], cwd=root, capture_output=True, text=True
    )
    return out.stdout.strip()


def test_clean_tree_names_the_commit(repo):
    assert report.git_commit() == _sha(repo)


def test_own_report_files_are_not_a_change(repo):
    (repo / 'docs/results/study_a.md').write_text('v2\n')
    (repo / 'docs/results/study_a.json').write_text('v2\n')
    stem = osp.join(str(repo), 'docs/results/study_a')
    assert report.git_commit(stem) == _sha(repo)
    # without naming them as its own output, they are uncommitted changes
    assert report.git_commit() == _sha(repo) + ' + uncommitted changes'


def test_other_changes_still_count(repo):
    (repo / 'docs/results/study_a.md').write_text('v2\n')
    (repo / 'tools/study_a.py').write_text('v2\n')
    stem = osp.join(str(repo), 'docs/results/study_a')
    assert report.git_commit(stem) == _sha(repo) + ' + uncommitted changes'


def test_first_line_path_is_read_whole(repo):
    # a modified (not staged) file prints as " M <path>" on the first porcelain line: its
    # leading space must not shift the path (which would hide it from the prefix test)
    (repo / 'docs/results/study_a.json').write_text('v2\n')
    stem = osp.join(str(repo), 'docs/results/study_a')
    assert report.git_commit(stem) == _sha(repo)
