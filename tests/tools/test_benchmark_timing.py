"""``benchmarks/timing.py``: the command line a results file names (no timing is tested)."""

import os.path as osp

from tests.scripts import REPO, load_script

timing = load_script('benchmarks/timing.py')


def test_command_line_is_relative_to_the_repo_quoted_and_names_the_threads(monkeypatch):
    script = osp.join(REPO, 'benchmarks', 'digits_baselines.py')
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    assert (
        timing.command_line([script, '--configs', 'a b.py'])
        == "OMP_NUM_THREADS=1 python benchmarks/digits_baselines.py --configs 'a b.py'"
    )
    monkeypatch.delenv('OMP_NUM_THREADS')
    monkeypatch.chdir(osp.join(REPO, 'benchmarks'))  # a path relative to another folder
    assert timing.command_line(['tilted_ce_loss.py']) == 'python benchmarks/tilted_ce_loss.py'


def test_command_line_defaults_to_sys_argv(monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr('sys.argv', [osp.join(REPO, 'benchmarks', 'icu_head.py'), '--quick'])
    assert timing.command_line() == 'python benchmarks/icu_head.py --quick'
