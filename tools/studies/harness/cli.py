"""The command line of every study: ``python -m tools.studies.<study> [--jobs 2] [--quick]
[--replot] [--rereport]`` (and ``--stage`` for a study with stages).

* ``--quick`` runs every variant for a few iterations (validating each one) into a separate
  folder, to check the whole path (harness, report, plot) and not the numbers;
* ``--replot`` redraws a written report's figure from its JSON (nothing trained or read from
  the run folders; markdown and JSON unchanged);
* ``--rereport`` rewrites the report's markdown from its JSON with this commit's report code;
* ``--plan`` lists every run with its id and where its result is (cached, a copy of another
  folder, or to train) and prints the count to train: nothing is trained or changed.

The runs are :class:`~.runner.Runner`'s, the report :mod:`.report`'s; the study's report
callbacks get this invocation's :class:`~.study.RunContext`.
"""

import argparse
import dataclasses
import os.path as osp
import signal
import sys
import time
from typing import Callable, Mapping, Optional, Sequence

from tools import REPO
from tools.studies.harness.lock import StudyInterrupted, StudyLocked
from tools.studies.harness.report import replot, rereport, write_report
from tools.studies.harness.runner import Runner
from tools.studies.harness.study import RunContext, Study

#: ``--stage`` name -> the study of that stage (its first entry is the default)
Stages = Mapping[str, Callable[[], Study]]


def parse_args(
    study: Study, argv: Optional[Sequence[str]], stages: Optional[Stages] = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=study.title)
    if stages:
        parser.add_argument(
            '--stage',
            choices=list(stages),
            default=next(iter(stages)),
            help='the part of the study to run (default: %(default)s)',
        )
    parser.add_argument('--jobs', type=int, default=2, help='runs in parallel (2 cores: 2)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='a few iterations per variant, one seed: checks the path',
    )
    parser.add_argument(
        '--variants',
        nargs='+',
        default=None,
        metavar='NAME',
        help='with --quick: only these variants (and their baselines)',
    )
    parser.add_argument(
        '--work-dir',
        default=None,
        help=f'runs folder (default work_dirs/studies/{study.name}[-quick])',
    )
    parser.add_argument(
        '--out-dir',
        default=None,
        help='report folder (default docs/results; with --quick the runs folder)',
    )
    parser.add_argument(
        '--replot',
        action='store_true',
        help="redraw the report's figure from its JSON (trains nothing, markdown unchanged)",
    )
    parser.add_argument(
        '--plan',
        action='store_true',
        help='list every run (2x length-check runs included) with its id and whether it is '
        "cached, copied from another folder or to train (after the study's preparation, "
        'which may build its data); trains nothing and moves no run folder',
    )
    parser.add_argument(
        '--adopt',
        action='store_true',
        help="with --plan: rename this study's run folders named by the former cache key "
        '(config file, option strings, seed) to their ids over the merged config',
    )
    parser.add_argument(
        '--rereport',
        action='store_true',
        help="rewrite the report's markdown from its JSON with this commit's report code "
        '(trains nothing; arms defined since are left out)',
    )
    return parser.parse_args(argv)


def command_line(script: str, argv: Sequence[str]) -> str:
    """The command that runs ``script`` with ``argv``, as the report names it.

    A module of the repository's ``tools`` package runs as ``python -m tools.<...>``; any
    other script as ``python <path relative to the repository>``.
    """
    path = osp.relpath(osp.abspath(script), REPO)
    parts = path[: -len('.py')].split(osp.sep) if path.endswith('.py') else []
    if parts and parts[0] == 'tools' and '..' not in parts:
        return ' '.join(['python', '-m', '.'.join(parts), *argv])
    return ' '.join(['python', path, *argv])


def main(
    study: Study,
    script: str,
    argv: Optional[Sequence[str]] = None,
    stages: Optional[Stages] = None,
) -> str:
    """Run a study and write its report; returns the report's markdown (the figure's path
    with ``--replot``, the listing with ``--plan``).

    Args:
        study (Study): The study (of the default stage, with ``stages``).
        script (str): Path of the study's module (named in the report's command line).
        argv (Sequence[str], optional): Arguments; defaults to ``sys.argv[1:]``.
        stages (Mapping[str, Callable[[], Study]], optional): A study run in parts: the
            ``--stage`` choices, each building the study of its part; the first is the
            default. Defaults to none (no ``--stage``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(study, argv, stages)
    stage = getattr(args, 'stage', None)
    if stage is not None:
        study = stages[stage]()
    if args.adopt and not args.plan:
        raise SystemExit('--adopt needs --plan')
    if args.variants and not args.quick:
        # a partial full run would overwrite the study's report with fewer arms
        raise SystemExit('--variants needs --quick')
    if args.quick:
        study = dataclasses.replace(study, seeds=study.seeds[:1])
    if args.variants:
        study = study.subset(args.variants)
    suffix = '-quick' if args.quick else ''
    work_dir = args.work_dir or osp.join(REPO, 'work_dirs', 'studies', study.name + suffix)
    out_dir = args.out_dir or (work_dir if args.quick else osp.join(REPO, 'docs', 'results'))
    context = RunContext(
        command=command_line(script, argv),
        out_dir=out_dir,
        work_dir=work_dir,
        quick=args.quick,
        stage=stage,
        args=args,
    )
    if args.replot:
        return replot(study, out_dir)
    if args.rereport:
        return rereport(study, out_dir, context.command, context=context)
    if args.plan:  # no preparation: it may build data or pre-train
        return Runner(study, work_dir, args.jobs, args.quick).plan(adopt=args.adopt)
    t0 = time.time()
    prepare = (study.quick_prepare or study.prepare) if args.quick else study.prepare
    runner = Runner(study, work_dir, args.jobs, args.quick)
    try:
        with runner.hold():  # one harness per study, from the preparation to the report
            if prepare is not None:
                prepare(study)
            runs = runner.run()
            return write_report(
                study,
                runs,
                out_dir,
                command=context.command,
                wall_s=time.time() - t0,
                quick=args.quick,
                context=context,
            )
    except StudyLocked as err:
        raise SystemExit(f'{study.name}: {err}') from None
    except (StudyInterrupted, KeyboardInterrupt) as err:
        signum = getattr(err, 'signum', signal.SIGINT)
        msg = str(err) if isinstance(err, StudyInterrupted) else 'interrupted by SIGINT'
        print(f'{study.name}: {msg}', file=sys.stderr, flush=True)
        raise SystemExit(128 + signum) from None
