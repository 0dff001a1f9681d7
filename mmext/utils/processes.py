"""Process probes shared by mmext's file locks (the digits data store) and the study harness."""

import os


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine.

    Signal 0 probes it (a process of another user exists: ``PermissionError``); a killed
    process that nobody reaped yet (a zombie, common in containers without an init) does not
    run and does not hold anything, so ``/proc/<pid>/stat`` states ``Z`` / ``X`` count as gone.

    Args:
        pid (int): Process id.

    Returns:
        bool: True while the process runs.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by another user
        pass
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except (OSError, IndexError):  # no /proc (macOS): signal 0 decided
        return True
