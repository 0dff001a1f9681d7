"""One harness per study, stopped cleanly: the runs folder's lock file and the signals.

* :class:`StudyLock`: ``<work_dir>/.harness.lock`` (``flock``, holding the harness's PID)
  makes a second harness of the same study refuse to start (naming the PID), instead of
  training beside the first and deleting its unfinished run folders; the training runs
  inherit the lock, so runs a killed (SIGKILL) harness left behind keep it too. A lock whose
  holder is gone is taken over with a warning.
* :class:`StudyGuard` (the base of :class:`~tools.studies.harness.runner.Runner`): while it
  holds the lock, SIGINT (Ctrl-C) and SIGTERM stop the study: each run is its own process
  group (its data loader workers included), the signal is forwarded to every running one, no
  queued run starts, runs still alive after ``stop_grace_s`` (30 s; at once on a second
  signal) are killed.
"""

import contextlib
import os
import os.path as osp
import signal
import sys
import threading
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from mmext.utils.processes import pid_alive

try:
    import fcntl
except ImportError:  # pragma: no cover  (non-POSIX platforms: no lock)
    fcntl = None

#: name of the lock file in a study's runs folder (see :class:`StudyLock`)
LOCK_NAME = '.harness.lock'
#: seconds the runs get to end after a forwarded SIGINT / SIGTERM before they are killed
STOP_GRACE_S = 30.0


class StudyLocked(RuntimeError):
    """Another harness (or the runs a killed harness left) holds the study's lock file."""


class StudyInterrupted(RuntimeError):
    """The harness got SIGINT or SIGTERM and stopped the study (or one of its runs).

    Args:
        message (str): What was stopped.
        signum (int): The signal.
        started (bool): For one run: whether its training had started. Defaults to False.
    """

    def __init__(self, message: str, signum: int, started: bool = False) -> None:
        super().__init__(message)
        self.signum = signum
        self.started = started


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f'signal {signum}'


def _signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to process group ``pgid``; a group that is gone is ignored."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class StudyLock:
    """Exclusive lock of a study's runs folder: ``<work_dir>/.harness.lock`` (``flock``).

    The file holds the holder's PID on its first line and the process groups of its running
    trainings on a ``runs:`` line. The lock is an ``flock`` on the open file, which the
    kernel drops when every process holding it has exited: the harness passes it on to its
    runs, so runs left behind by a harness killed with SIGKILL keep the study locked. A
    lock file naming a PID that holds no lock any more (a dead harness) is stale and taken
    over with a warning.

    Args:
        work_dir (str): The study's runs folder (created if missing).
    """

    def __init__(self, work_dir: str) -> None:
        self.path = osp.join(work_dir, LOCK_NAME)
        self.fd: Optional[int] = None

    def _read(self, fd: int) -> Tuple[Optional[int], List[int]]:
        """``(pid, run process groups)`` written in the lock file (None, [] if unreadable)."""
        try:
            lines = os.pread(fd, 4096, 0).decode('ascii', 'replace').splitlines()
        except OSError:
            return None, []
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        groups = [
            int(g)
            for line in lines[1:]
            if line.startswith('runs:')
            for g in line.split(':', 1)[1].split()
            if g.isdigit()
        ]
        return pid, groups

    def acquire(self) -> 'StudyLock':
        """Take the lock and write this process's PID into the file.

        Returns:
            StudyLock: self.

        Raises:
            StudyLocked: If another process holds the lock; names the file and the PID.
        """
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StudyLocked(self._held_message(*self._read(fd))) from None
            pid, _ = self._read(fd)
            if pid is not None and pid != os.getpid():
                state = 'still runs but does not hold it' if pid_alive(pid) else 'is gone'
                warnings.warn(
                    f'{self.path}: taking over the stale lock of PID {pid} (that process '
                    f'{state}); its unfinished runs are started afresh',
                    RuntimeWarning,
                    stacklevel=2,
                )
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.write()
        return self

    def _held_message(self, pid: Optional[int], groups: List[int]) -> str:
        who = f'PID {pid}' if pid is not None else 'an unknown process'
        if pid is None or pid_alive(pid):
            return (
                f'{self.path} is held by {who}: another harness is running this study; '
                f'wait for it or stop it (kill {pid if pid is not None else "<pid>"}) first'
            )
        runs = ' '.join(f'-{g}' for g in groups) or '-<pgid>'
        return (
            f'{self.path} is held by the training runs of {who}, a harness that is gone '
            f'(killed): end them first (kill -TERM -- {runs})'
        )

    def write(self, groups: Sequence[int] = ()) -> None:
        """Rewrite the file: this PID, then the process groups of the running trainings."""
        if self.fd is None:
            return
        text = f'{os.getpid()}\n' + (f'runs: {" ".join(map(str, groups))}\n' if groups else '')
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text.encode('ascii'), 0)

    def release(self) -> None:
        """Empty the file and drop the lock (the file stays: removing it would race)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.ftruncate(fd, 0)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> 'StudyLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class StudyGuard:
    """The study's lock and the process groups of its running trainings (see the module
    docstring); :class:`~tools.studies.harness.runner.Runner` launches the trainings.

    Args:
        work_dir (str): The study's runs folder.
        stop_grace_s (float): Seconds the runs get to end after a forwarded SIGINT /
            SIGTERM before they are killed. Defaults to :data:`STOP_GRACE_S`.
    """

    def __init__(self, work_dir: str, stop_grace_s: float = STOP_GRACE_S) -> None:
        self.work_dir = work_dir
        self.stop_grace_s = float(stop_grace_s)
        # the running trainings (process group -> run) and the signal that stops the study;
        # an RLock: the signal handler takes it in the main thread, possibly nested
        self._procs_lock = threading.RLock()
        self._children: Dict[int, str] = {}
        self._stop_signal: Optional[int] = None
        self._killer: Optional[threading.Timer] = None
        self._study_lock: Optional[StudyLock] = None
        self._holds = 0
        self._running = False

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the study's lock file and stop the study on SIGINT / SIGTERM (reentrant).

        While held, the signals are handled (in the main thread only) by forwarding them to
        the running trainings (see the module docstring); outside ``run`` (e.g. during
        the study's ``prepare``) they raise :class:`StudyInterrupted` at once.

        Raises:
            StudyLocked: If another harness holds the lock.
        """
        if self._holds:
            self._holds += 1
            try:
                yield
            finally:
                self._holds -= 1
            return
        lock = StudyLock(self.work_dir).acquire()
        previous = {}
        try:
            if threading.current_thread() is threading.main_thread():
                for signum in (signal.SIGINT, signal.SIGTERM):
                    previous[signum] = signal.signal(signum, self._on_signal)
            self._study_lock, self._holds, self._stop_signal = lock, 1, None
            yield
        finally:
            self._holds = 0
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self._killer is not None:
                self._killer.cancel()
                self._killer = None
            self._study_lock = None
            lock.release()

    def _on_signal(self, signum: int, frame) -> None:
        """Stop the study: forward ``signum`` to the runs, launch no more, kill them later."""
        first = self._stop_signal is None
        if first:
            self._stop_signal = signum
        with self._procs_lock:
            groups = list(self._children)
        # a second signal kills at once; the first gives the runs stop_grace_s to end
        for pgid in groups:
            _signal_group(pgid, signum if first else signal.SIGKILL)
        if not self._running:
            raise StudyInterrupted(f'interrupted by {_signal_name(signum)}', signum)
        if first:
            with contextlib.suppress(Exception):  # never fail in the handler
                print(
                    f'harness: got {_signal_name(signum)}: stopping {len(groups)} running '
                    f'run(s) (killed after {self.stop_grace_s:g} s), starting no more',
                    file=sys.stderr,
                    flush=True,
                )
            self._killer = threading.Timer(self.stop_grace_s, self._kill_children)
            self._killer.daemon = True
            self._killer.start()

    def _kill_children(self) -> None:
        """SIGKILL the process group of every training still running."""
        with self._procs_lock:
            for pgid in list(self._children):
                _signal_group(pgid, signal.SIGKILL)

    def _check_not_stopped(self, variant, seed: int) -> None:
        if self._stop_signal is not None:
            raise StudyInterrupted(
                f'{variant.name} seed {seed}: not started', self._stop_signal, started=False
            )

    def _record_children(self) -> None:
        """Write the running trainings' process groups into the lock file."""
        if self._study_lock is not None:
            with contextlib.suppress(OSError):
                self._study_lock.write(sorted(self._children))
