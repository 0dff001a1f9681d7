"""The commit a study report names: its own output files do not make the tree "dirty"."""

import os.path as osp
import subprocess

import pytest

from tools import REPO
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


# --- which config a run record names, and the re-report's provenance line ----------------

SEG = 'configs/digits/deeplabv3plus_r18-tiny_1xb8-2k_digits-seg.py'


def _leaf(tmp_path, name: str, a: int) -> str:
    path = tmp_path / f'{name}.py'
    path.write_text(f'_base_ = {osp.join(REPO, SEG)!r}\na = {a}\n')
    return str(path)


def test_name_configs_only_where_the_run_id_proves_it(tmp_path):
    from tools.studies.harness import Study, Variant
    from tools.studies.harness.configs import resolved_key

    one, two = _leaf(tmp_path, 'one', 1), _leaf(tmp_path, 'two', 2)
    study = Study(
        name='s',
        title='s',
        variants=[Variant('one', one), Variant('two', two, 'one')],
        seeds=(0, 1),
        metrics=[('mIoU', 'mIoU')],
        claims=[],
        setup=[],
    )
    # the folder ids as the runner names them: seed<seed>_<SHA-1 of the merged config>
    proven = dict(variant='one', seed=1, run_dir=f'w/one_seed1_{resolved_key(one, [], 1)}')
    # a folder of an arm whose config changed since: another digest
    stale = dict(variant='two', seed=0, run_dir=f'w/two_seed0_{resolved_key(one, [], 0)}')
    named = dict(variant='two', seed=1, run_dir='w/x', config='configs/kept.py')
    report.name_configs(study, [proven, stale, named])
    assert proven['config'] == one
    assert 'config' not in stale
    assert named['config'] == 'configs/kept.py'  # a record that names its config keeps it
