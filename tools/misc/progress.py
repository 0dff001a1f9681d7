"""Show the progress of mmengine runs that train (or test) in the background, one line each.

    python tools/misc/progress.py --run ce work_dirs/demo/ce.log work_dirs/demo/ce.rc \
        --run tce work_dirs/demo/tce.log work_dirs/demo/tce.rc [--step training] [--prefix '']

Each ``--run NAME LOG STATUS`` is a process started elsewhere (``tools/demo.sh`` starts them)
whose output goes to LOG and whose exit status is written to the STATUS file when it ends. The
script only reads: the ``Iter(train) [i/N] ... eta: ... loss: ...`` lines mmengine's
``LoggerHook`` writes (every ``default_hooks.logger.interval`` iterations), and the
``Iter(val)`` / ``Iter(test)`` lines. Line per run: its name, iteration / total, loss and the
ETA mmengine estimates (of the training iterations).

When stdout is a terminal the lines are redrawn in place every ``--refresh`` seconds;
otherwise (a file, a pipe, CI) a run's line is printed when it starts training, each time it
passes another 10 % of its iterations, at most every ``--every`` seconds in between when it
moved, and when it ends. The script exits when every run has ended: 0 when all exited with 0;
as soon as one fails, it prints that run's log tail and exits with 1 (the caller stops the
others). Only iteration-based loops (``IterBasedTrainLoop``) show a total; the others show
their state.
"""

import argparse
import os
import re
import shutil
import sys
import time
from typing import Callable, List, Optional, Sequence, TextIO

# mmengine's LoggerHook lines: 'Iter(train) [ 120/2000]  lr: ...  eta: 0:03:12  ...  loss: 1.23'
_ITER_RE = re.compile(r'Iter\((train|val|test)\)\s*\[\s*(\d+)/(\d+)\]')
_ETA_RE = re.compile(r'\beta: (\S+)')
_LOSS_RE = re.compile(r'\sloss: (\S+)')
_PHASE_WORDS = {'val': 'validating', 'test': 'testing'}


def _duration(seconds: float) -> str:
    """``'3m12s'`` (or ``'41s'``, ``'1h02m'``)."""
    s = int(round(seconds))
    if s < 60:
        return f'{s}s'
    if s < 3600:
        return f'{s // 60}m{s % 60:02d}s'
    return f'{s // 3600}h{s % 3600 // 60:02d}m'


class RunProgress:
    """What one run's log and status file say so far (read incrementally).

    Args:
        name (str): The name shown first on its line.
        log (str): The file the run writes its output to.
        status (str): The file its exit status is written to when it ends.
    """

    def __init__(self, name: str, log: str, status: str) -> None:
        self.name = name
        self.log = log
        self.status = status
        self.iter = 0  # last logged training iteration (0: none yet)
        self.total = 0
        self.loss: Optional[str] = None
        self.eta: Optional[str] = None
        self.phase: Optional[str] = None  # 'train', 'val', 'test' (None: not started)
        self.phase_iter = 0
        self.phase_total = 0
        self.exit_code: Optional[int] = None
        self.ended_after: Optional[float] = None  # seconds since watching began
        self._watched = False  # whether update() ran before
        self._offset = 0
        self._partial = ''

    def update(self, elapsed: float = 0.0) -> None:
        """Read the lines the run logged since the last call and its exit status if it ended.

        Args:
            elapsed (float): Seconds since watching began (kept as the run's time at its end).
        """
        if self.exit_code is None:  # read the status first: every line was written before it
            self.exit_code = _read_status(self.status)
            if self.exit_code is not None and self._watched:  # (not when it had already ended)
                self.ended_after = elapsed
        self._watched = True
        try:
            with open(self.log, 'rb') as f:
                if os.fstat(f.fileno()).st_size < self._offset:  # rewritten: start over
                    self._offset, self._partial = 0, ''
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        lines = (self._partial + data.decode('utf-8', errors='replace')).split('\n')
        self._partial = lines.pop()
        for line in lines:
            self.parse_line(line)

    def parse_line(self, line: str) -> None:
        """Take the iteration, loss and ETA of one log line (other lines are ignored).

        Args:
            line (str): A line of the run's log.
        """
        m = _ITER_RE.search(line)
        if not m:
            return
        phase, it, total = m.group(1), int(m.group(2)), int(m.group(3))
        self.phase, self.phase_iter, self.phase_total = phase, it, total
        if phase == 'train':
            self.iter, self.total = it, total
            eta, loss = _ETA_RE.search(line), _LOSS_RE.search(line)
            self.eta = eta.group(1) if eta else None
            self.loss = loss.group(1) if loss else self.loss

    @property
    def fraction(self) -> float:
        """The fraction of its training (or test) iterations done (0 before the first line)."""
        if self.total:
            return self.iter / self.total
        return self.phase_iter / self.phase_total if self.phase_total else 0.0

    def line(self, width: int = 0, elapsed: float = 0.0) -> str:
        """The run's progress line.

        Args:
            width (int): The name column's width. Defaults to 0.
            elapsed (float): Seconds since watching began, shown while the run is starting
                (0: not shown). Defaults to 0.

        Returns:
            str: The line.
        """
        name = self.name.ljust(width)
        if self.iter:
            n = len(str(self.total))
            text = f'iter {self.iter:>{n}}/{self.total}  {100 * self.fraction:3.0f}%'
            if self.loss is not None:
                text += f'  loss {self.loss}'
        elif self.phase:
            text = f'{_PHASE_WORDS[self.phase]} {self.phase_iter}/{self.phase_total}'
        else:
            text = f'starting ({_duration(elapsed)})' if elapsed else 'starting'
        if self.exit_code == 0:
            took = '' if self.ended_after is None else f' in {_duration(self.ended_after)}'
            return f'{name}  done{took}, {text}'
        if self.exit_code is not None:
            return f'{name}  FAILED (exit {self.exit_code}), {text}'
        if self.iter and self.phase in _PHASE_WORDS:  # validation during training
            text += f'  {_PHASE_WORDS[self.phase]} {self.phase_iter}/{self.phase_total}'
        elif self.iter and self.eta:
            text += f'  eta {self.eta}'
        return f'{name}  {text}'


def _read_status(path: str) -> Optional[int]:
    """The exit status in ``path``, or None while it does not exist (or is being written)."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def log_tail(path: str, lines: int = 20) -> List[str]:
    """The last ``lines`` lines of a file (``[]`` when it does not exist).

    Args:
        path (str): The file.
        lines (int): How many. Defaults to 20.

    Returns:
        List[str]: The lines, without their newlines.
    """
    try:
        with open(path, 'rb') as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 64 * 1024))
            text = f.read().decode('utf-8', errors='replace')
    except FileNotFoundError:
        return []
    return text.splitlines()[-lines:]


def watch(
    runs: Sequence[RunProgress],
    out: TextIO,
    tty: bool,
    step: str = 'run',
    prefix: str = '',
    refresh: float = 1.0,
    every: float = 60.0,
    tail: int = 20,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Show the runs' progress until all of them ended or one failed.

    Args:
        runs (Sequence[RunProgress]): The runs.
        out (TextIO): Where to write.
        tty (bool): Redraw the lines in place (a terminal) instead of printing plain lines.
        step (str): What the runs do, for the failure message (``'training'``).
            Defaults to ``'run'``.
        prefix (str): Put before each line (``'[demo] '``). Defaults to ``''``.
        refresh (float): Seconds between two reads of the logs. Defaults to 1.
        every (float): Plain lines only: the most seconds between two lines of a run that
            moved. Defaults to 60.
        tail (int): How many of a failed run's last log lines to print. Defaults to 20.
        clock (Callable): Monotonic seconds (tests pass a fake one).
        sleep (Callable): Waits ``refresh`` seconds (tests pass one that writes the logs).

    Returns:
        int: 0 when every run exited with 0, 1 as soon as one did not.
    """
    width = max(len(r.name) for r in runs)
    cols = shutil.get_terminal_size((100, 24)).columns - 1
    start = clock()
    drawn = 0  # tty: how many lines the last frame has
    printed = {}  # plain lines: run -> (state, position, time) of its last line
    while True:
        now = clock()
        for r in runs:
            r.update(now - start)
        ended = all(r.exit_code is not None for r in runs)
        failed = [r for r in runs if r.exit_code not in (None, 0)]
        if tty:
            frame = [(prefix + r.line(width, now - start))[:cols] for r in runs]
            up = f'\x1b[{drawn}A' if drawn else ''  # back to the first line
            out.write(up + ''.join(f'\x1b[2K{line}\n' for line in frame))
            drawn = len(frame)
        else:
            for i, r in enumerate(runs):
                state = (r.phase is not None, r.exit_code, int(10 * r.fraction + 1e-9))
                position = (r.iter, r.phase, r.phase_iter)
                last = printed.get(i)
                if (
                    last is None
                    or state != last[0]
                    or (position != last[1] and now - last[2] >= every)
                ):
                    out.write(prefix + r.line(width) + '\n')
                    printed[i] = (state, position, now)
        for r in failed:
            out.write(
                f'{prefix}{step} {r.name} failed (exit {r.exit_code}), see {r.log}; '
                f'its last lines:\n'
            )
            out.writelines(f'    {line}\n' for line in log_tail(r.log, tail))
        out.flush()
        if failed:
            return 1
        if ended:
            return 0
        sleep(refresh)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Watch the runs of ``argv`` (default ``sys.argv[1:]``).

    Args:
        argv (Sequence[str], optional): The command line.

    Returns:
        int: The exit status (see :func:`watch`; 130 on Ctrl-C).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--run',
        nargs=3,
        action='append',
        required=True,
        metavar=('NAME', 'LOG', 'STATUS'),
        help='a run: its name, the file it logs to, the file its exit status is written to',
    )
    parser.add_argument('--step', default='run', help="what the runs do ('training')")
    parser.add_argument('--prefix', default='', help="put before each line ('[demo] ')")
    parser.add_argument('--refresh', type=float, default=1.0, help='seconds between reads')
    parser.add_argument(
        '--every',
        type=float,
        default=60.0,
        help='without a terminal: the most seconds between two lines of a moving run',
    )
    parser.add_argument('--tail', type=int, default=20, help="lines of a failed run's log")
    tty = parser.add_mutually_exclusive_group()
    tty.add_argument('--tty', action='store_true', default=None, help='redraw in place')
    tty.add_argument('--no-tty', dest='tty', action='store_false', help='plain lines')
    args = parser.parse_args(argv)
    if args.tty is None:
        args.tty = sys.stdout.isatty() and os.environ.get('TERM') != 'dumb'
    runs = [RunProgress(*r) for r in args.run]
    try:
        return watch(
            runs,
            sys.stdout,
            args.tty,
            step=args.step,
            prefix=args.prefix,
            refresh=args.refresh,
            every=args.every,
            tail=args.tail,
        )
    except KeyboardInterrupt:
        sys.stdout.write('\n')
        return 130


if __name__ == '__main__':
    sys.exit(main())
