"""tools/studies/harness/ (lock): one harness per study, and SIGINT / SIGTERM stop a study's
fake trainings cleanly (no real training)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.tools.harness_helpers import CFG, make_study
from tools import REPO
from tools.studies import harness


def _dead_pid():
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def _gone(pid):
    """Whether process ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except OSError:
        return True


def test_a_second_harness_of_the_study_is_refused_and_a_stale_lock_taken_over(tmp_path):
    runs = tmp_path / 'runs'
    lock_path = str(runs / harness.LOCK_NAME)
    with harness.StudyLock(str(runs)):
        assert open(lock_path).read().split()[0] == str(os.getpid())
        held = re.escape(lock_path) + f'.*PID {os.getpid()}'
        with pytest.raises(harness.StudyLocked, match=held):
            harness.StudyLock(str(runs)).acquire()
        # the study's main refuses too, before preparing or training anything
        with pytest.raises(SystemExit, match=held):
            harness.main(make_study(), __file__, ['--work-dir', str(runs)])
        # ... and so does a harness in another process
        probe = (
            'import sys; sys.path.insert(0, sys.argv[2]); from tools.studies import harness\n'
            'try:\n    harness.StudyLock(sys.argv[1]).acquire()\n'
            'except harness.StudyLocked as e:\n    print(e)\n'
        )
        out = subprocess.run(
            [sys.executable, '-c', probe, str(runs), REPO], capture_output=True, text=True
        )
        assert f'{lock_path} is held by PID {os.getpid()}' in out.stdout
    assert open(lock_path).read() == ''  # released: nothing to take over
    dead = _dead_pid()
    with open(lock_path, 'w') as f:
        f.write(f'{dead}\n')
    with pytest.warns(RuntimeWarning, match=f'taking over the stale lock of PID {dead}'):
        lock = harness.StudyLock(str(runs)).acquire()
    assert open(lock_path).read() == f'{os.getpid()}\n'
    lock.release()


HARNESS_SCRIPT = r'''
import os, sys
sys.path.insert(0, sys.argv[3])
from tools.studies import harness
from tools.studies.harness import cli

CHILD = """
import json, os, signal, subprocess, sys, time
run_dir, variant, out = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(out, 'calls.txt'), 'a') as f:
    f.write(variant + '\\n')
stop = []
if variant == 'stubborn':  # ignores the forwarded signal, and has a worker of its own
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
    with open(os.path.join(out, 'worker.pid'), 'w') as f:
        f.write(str(worker.pid))
else:  # ends its training cleanly when told to stop
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *a: stop.append(1))
with open(os.path.join(out, variant + '.pid'), 'w') as f:
    f.write(str(os.getpid()))
deadline = time.time() + 600
while not stop and time.time() < deadline:
    time.sleep(0.05)
d = os.path.join(run_dir, '20260101_000000', 'vis_data')
os.makedirs(d)
with open(os.path.join(d, 'scalars.json'), 'w') as f:
    f.write(json.dumps({'mIoU': 42.0, 'step': 10}) + '\\n')
"""


class FakeRunner(harness.Runner):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_grace_s = 1.0

    def command(self, variant, seed, run_dir):
        return [sys.executable, '-c', CHILD, run_dir, variant.name, sys.argv[2]]


cli.Runner = FakeRunner


def leaf(a):
    """A leaf config of the digits config setting ``a`` (each arm its own run id)."""
    path = os.path.join(os.path.dirname(sys.argv[1]), f'leaf_a{a}.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = {os.path.join(sys.argv[3], sys.argv[4])!r}\na = {a}\n')
    return path


study = harness.Study(
    'sig', 'Signals',
    [harness.Variant('stubborn', leaf(0)), harness.Variant('graceful', leaf(1)),
     harness.Variant('queued', leaf(2))],
    (0,), [('mIoU', 'mIoU')], [], ['- x'],
)
harness.main(study, __file__, ['--jobs', '2', '--work-dir', sys.argv[1], '--out-dir', sys.argv[2]])
'''


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_runs_and_records_the_finished_one(tmp_path, signum):
    """SIGTERM / SIGINT to the harness: both running trainings (and a training's own worker
    process) end, the queued run never starts, the training that finished on the signal has
    its run.json, and the harness exits with 128 + signal and a one-line message."""
    runs, out = tmp_path / 'runs', tmp_path / 'out'
    out.mkdir()
    script = tmp_path / 'study.py'
    script.write_text(HARNESS_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(runs), str(out), REPO, CFG],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    names = ('stubborn.pid', 'graceful.pid', 'worker.pid')
    try:
        deadline = time.time() + 120
        while not all((out / n).exists() and (out / n).read_text() for n in names):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, 'the fake trainings did not start'
            time.sleep(0.1)
        lock = runs / '.harness.lock'
        held = lock.read_text() if lock.exists() else ''
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
        _check_stopped(proc, stderr, signum, runs, out, [int((out / n).read_text()) for n in names])
        # while it ran, the lock file named the harness and the stubborn run's process group
        assert held.split('\n')[0] == str(proc.pid)
        assert (out / 'stubborn.pid').read_text() in held.split('\n')[1].split()
    finally:  # whatever the outcome, neither the harness nor a fake training outlives the test
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for n in names:
            pid = int((out / n).read_text()) if (out / n).exists() else 0
            if pid and not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def _check_stopped(proc, stderr, signum, runs, out, pids):
    assert proc.returncode == 128 + signum, stderr
    assert 'Traceback' not in stderr
    last = stderr.strip().splitlines()[-1]
    name = signal.Signals(signum).name
    assert last == (
        f'sig: interrupted by {name}: 1 of 3 runs finished (recorded), 1 stopped, '
        '1 not started; rerun to resume'
    )
    for pid in pids:  # no training (nor its worker) outlives the harness
        deadline = time.time() + 10
        while not _gone(pid) and time.time() < deadline:
            time.sleep(0.1)
        assert _gone(pid), pid
    assert (out / 'calls.txt').read_text().split() in (
        ['stubborn', 'graceful'],
        ['graceful', 'stubborn'],
    )
    done = [json.loads(p.read_text()) for p in runs.glob('*/run.json')]
    assert [(r['variant'], r['final']['mIoU']) for r in done] == [('graceful', 42.0)]
    assert not list(runs.glob('stubborn*/run.json'))
    assert (runs / '.harness.lock').read_text() == ''  # released
