"""pid_alive: running, exited and zombie processes."""

import os
import subprocess
import sys
import time

from mmext.utils.processes import pid_alive


def test_running_exited_and_zombie_processes():
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    try:
        assert pid_alive(child.pid)
    finally:
        child.kill()
    # killed but not reaped yet: a zombie until wait(), which runs nothing
    deadline = time.time() + 10
    while pid_alive(child.pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child.pid)
    child.wait()
    assert not pid_alive(child.pid)  # reaped: no such process
