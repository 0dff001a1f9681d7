"""The timing and result-writing helpers shared by every script of ``benchmarks/``.

A benchmark compares an mmext module with the OpenMMLab module it replaces in one run:

* :func:`timed` wraps a step so that a call returns its duration (thread CPU time by
  default: insensitive to other processes sharing the cores; ``time.process_time`` or
  ``time.perf_counter`` where a script needs them), with an untimed ``prepare`` and an
  optional device ``sync``;
* :func:`run_interleaved` runs the candidates in turn, round after round (optionally in
  ABBA order), so a slow phase of a shared machine hits all of them alike;
* :func:`medians` and :func:`ratios` summarise the rounds;
* :func:`write_results` writes ``benchmarks/results/<name>.json`` and ``.md``;
  :func:`command_line` gives the command a results file names.

The scripts are run as ``python benchmarks/<script>.py``, which puts this folder on
``sys.path``; they take the repository root :data:`REPO` and :data:`RESULT_DIR` from here.
"""

import json
import os
import os.path as osp
import platform
import shlex
import statistics
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

#: where the benchmarks write their results
RESULT_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'results')
#: the repository root (commands are written relative to it)
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def timed(
    step: Callable[..., Any],
    clock: Callable[[], float] = time.thread_time,
    sync: Optional[Callable[[], None]] = None,
    prepare: Optional[Callable[[], Any]] = None,
) -> Callable[[], float]:
    """A zero-argument callable that runs ``step`` once and returns its duration.

    Args:
        step (Callable): The work to time; called as ``step(prepare())`` when ``prepare``
            is given, else ``step()``.
        clock (Callable[[], float]): The clock. Defaults to ``time.thread_time``.
        sync (Callable[[], None], optional): Called before starting and before stopping the
            clock (e.g. ``torch.cuda.synchronize``).
        prepare (Callable[[], Any], optional): Untimed setup whose result is passed to
            ``step`` (e.g. copies of inputs that ``step`` modifies).

    Returns:
        Callable[[], float]: Runs one step and returns the seconds it took on ``clock``.
    """

    def run() -> float:
        args = () if prepare is None else (prepare(),)
        if sync is not None:
            sync()
        start = clock()
        step(*args)
        if sync is not None:
            sync()
        return clock() - start

    return run


def run_interleaved(
    steps: Dict[str, Callable[[], Any]], rounds: int, warmup: int = 0, alternate: bool = False
) -> Dict[str, List[Any]]:
    """Run every step once per round, in turn, and collect what the steps return.

    Args:
        steps (Dict[str, Callable[[], Any]]): Candidates by name (e.g. :func:`timed` ones).
        rounds (int): Recorded rounds.
        warmup (int): Unrecorded rounds before them. Defaults to 0.
        alternate (bool): Reverse the order every other round (ABBA), so no candidate
            always runs first. Defaults to False.

    Returns:
        Dict[str, List[Any]]: Per candidate, its ``rounds`` results in order.
    """
    names = list(steps)
    results: Dict[str, List[Any]] = {name: [] for name in names}
    for i in range(warmup + rounds):
        order = names[::-1] if alternate and i % 2 else names
        for name in order:
            value = steps[name]()
            if i >= warmup:
                results[name].append(value)
    return results


def median(values: Iterable[float]) -> float:
    """The median of ``values`` as a float."""
    return float(statistics.median(list(values)))


def medians(results: Dict[str, Sequence[float]]) -> Dict[str, float]:
    """The median of every candidate's rounds."""
    return {name: median(values) for name, values in results.items()}


def ratios(values: Dict[str, float], baseline: str) -> Dict[str, float]:
    """Every value divided by the ``baseline`` candidate's."""
    return {name: value / values[baseline] for name, value in values.items()}


def verdict(passed: bool) -> str:
    """``'PASS'`` or ``'FAIL'``."""
    return 'PASS' if passed else 'FAIL'


def machine_info() -> Dict[str, Optional[str]]:
    """``threads`` (``$OMP_NUM_THREADS``) and ``machine`` of a result record."""
    return dict(
        threads=os.environ.get('OMP_NUM_THREADS'),
        machine=platform.processor() or platform.machine(),
    )


def command_line(argv: Optional[Sequence[str]] = None) -> str:
    """The command that ran a benchmark, as its results file names it.

    Args:
        argv (Sequence[str], optional): The script's path and arguments. Defaults to
            ``sys.argv``.

    Returns:
        str: ``[OMP_NUM_THREADS=<n> ]python <script relative to the repo> [arguments]``,
        shell-quoted; the thread count is the one the run had in its environment.
    """
    argv = list(sys.argv if argv is None else argv)
    words = ['python', osp.relpath(osp.abspath(argv[0]), REPO), *argv[1:]]
    threads = os.environ.get('OMP_NUM_THREADS')
    prefix = f'OMP_NUM_THREADS={threads} ' if threads else ''
    return prefix + ' '.join(shlex.quote(w) for w in words)


def write_results(
    name: str,
    result: Any,
    markdown: Union[str, Sequence[str]],
    result_dir: str = RESULT_DIR,
    indent: int = 2,
) -> None:
    """Write ``<result_dir>/<name>.json`` and ``<result_dir>/<name>.md``.

    Args:
        name (str): File stem, e.g. ``'coherent_mixup'``.
        result (Any): JSON-serialisable record.
        markdown (str | Sequence[str]): The table and text (lines are joined by newlines).
        result_dir (str): The folder. Defaults to ``benchmarks/results``.
        indent (int): JSON indentation. Defaults to 2.
    """
    os.makedirs(result_dir, exist_ok=True)
    with open(osp.join(result_dir, f'{name}.json'), 'w') as f:
        json.dump(result, f, indent=indent)
    if not isinstance(markdown, str):
        markdown = '\n'.join(markdown)
    with open(osp.join(result_dir, f'{name}.md'), 'w') as f:
        f.write(markdown)
