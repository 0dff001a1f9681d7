"""The runner of mmext's studies: variants x seeds, one ``tools/train.py`` each.

A study (one module per study under ``tools/studies/``, a :class:`~.study.Study`) fixes
*everything* before it runs: the seeds, the variants (one config each: data, schedule and
model; no ``--cfg-options`` but the seed and ``--quick``'s) and the claims it tests.
:class:`Runner` runs it:

* every (variant, seed) is its own ``tools/train.py`` process (``OMP_NUM_THREADS=1``),
  ``--jobs N`` of them at a time;
* a finished run is cached by its fully merged config (bases, seed, options:
  :func:`~.configs.resolved_key`): its folder holds ``run.json`` (curves, final metrics, wall
  and CPU time, the exact command), the training log and mmengine's ``vis_data/scalars.json``;
  an interrupted study resumes where it stopped, and a changed config or option is a new
  run, never a stale one; a run with the same key under another name or in another study (a
  sibling folder) is copied, not retrained (``reused_from`` in its ``run.json``), so a
  setting that moves from an option string into a leaf config, or a 2x length-check run that
  becomes the schedule, keeps its run; a folder named by the former key
  (:func:`~.configs.run_key`) is found too (:meth:`~.cache.RunCache.locate`);
* a progress line per finished run with the elapsed time and an ETA;
* one harness per study, stopped cleanly by SIGINT / SIGTERM (:mod:`.lock`): a run that
  finishes meanwhile is recorded (``run.json``), and the harness exits with
  ``128 + signal`` and a one-line message (no traceback). A rerun resumes.

The command line (``--quick``, ``--replot``, ``--rereport``) is :mod:`.cli`, the statistics
:mod:`.stats`, the report :mod:`.report`.
"""

import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

from tools import REPO
from tools.studies.harness.cache import RunCache
from tools.studies.harness.lock import STOP_GRACE_S, StudyGuard, StudyInterrupted, _signal_name
from tools.studies.harness.scalars import read_scalars
from tools.studies.harness.study import Study, Variant


class Runner(RunCache, StudyGuard):
    """Runs a study's (variant, seed) pairs; see the module docstring.

    Where each run is (its id, its folder, a finished run to reuse) is :class:`RunCache`'s;
    the lock and the signals are :class:`StudyGuard`'s.

    Args:
        study (Study): The study.
        work_dir (str): Its runs folder.
        jobs (int): Runs in parallel. Defaults to 1.
        quick (bool): The ``--quick`` options and folder. Defaults to False.
        stop_grace_s (float): Seconds the runs get to end after a forwarded SIGINT /
            SIGTERM before they are killed. Defaults to :data:`STOP_GRACE_S`.
    """

    def __init__(
        self,
        study: Study,
        work_dir: str,
        jobs: int = 1,
        quick: bool = False,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        RunCache.__init__(self, study, work_dir, quick)
        StudyGuard.__init__(self, work_dir, stop_grace_s)
        self.jobs = max(1, int(jobs))
        self._lock = threading.Lock()

    def command(self, variant: Variant, seed: int, run_dir: str) -> List[str]:
        """The ``tools/train.py`` command line of one run (run from the repository)."""
        return [
            sys.executable,
            osp.join('tools', 'train.py'),
            variant.config,
            '--work-dir',
            run_dir,
            '--cfg-options',
            f'randomness.seed={seed}',
            *self.options(variant),
        ]

    def run_one(self, variant: Variant, seed: int) -> dict:
        """Train one (variant, seed) unless its ``run.json`` exists; returns the record.

        The training runs in its own process group, registered for :meth:`_on_signal`.

        Raises:
            StudyInterrupted: If the study was stopped before or while it trained (a
                training that still ends successfully is recorded).
            RuntimeError: If the training failed.
        """
        self._check_not_stopped(variant, seed)
        with self._lock:  # two arms with one id never move or copy the same folder at once
            run_dir, status, source = self.locate(variant, seed)
            result = osp.join(run_dir, 'run.json')
            if status != 'cached':
                if osp.isdir(run_dir):  # an interrupted attempt (no run.json): start afresh
                    shutil.rmtree(run_dir)
                if status == 'legacy' and self._owns(source):
                    self.rename(source, run_dir, variant)
                elif status in ('copy', 'legacy'):
                    self.reuse(source, run_dir, variant)
        if osp.isfile(result):
            with open(result) as f:
                rec = json.load(f)
            # re-read the logged curves, so a report can use scalars asked for later
            rec.update(
                read_scalars(run_dir, self.study.primary, self.study.train_scalars, self.study.fill)
            )
            rec['config'] = variant.config  # its run id = this config's merged digest
            rec['cached'] = True
            return rec
        os.makedirs(run_dir)
        cmd = self.command(variant, seed, run_dir)
        env = dict(
            os.environ,
            OMP_NUM_THREADS='1',
            MKL_NUM_THREADS='1',
            MPLBACKEND='Agg',
            PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
        )
        t0 = time.time()
        lock_fd = None if self._study_lock is None else self._study_lock.fd
        with open(osp.join(run_dir, 'train.log'), 'w') as log:
            with self._procs_lock:  # the signal handler sees every launched training
                self._check_not_stopped(variant, seed)
                proc = subprocess.Popen(
                    cmd,
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: signalled as one
                    pass_fds=() if lock_fd is None else (lock_fd,),  # it keeps the study locked
                )
                self._children[proc.pid] = f'{variant.name} seed {seed}'
                self._record_children()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                with self._procs_lock:
                    self._children.pop(proc.pid, None)
                    self._record_children()
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - t0
        if proc.returncode != 0 and self._stop_signal is not None:
            raise StudyInterrupted(
                f'{variant.name} seed {seed}: stopped (exit {proc.returncode})',
                self._stop_signal,
                started=True,
            )
        if proc.returncode != 0:
            raise RuntimeError(
                f'{variant.name} seed {seed} failed (exit {proc.returncode}); '
                f'see {osp.join(run_dir, "train.log")}'
            )
        curves = read_scalars(
            run_dir, self.study.primary, self.study.train_scalars, self.study.fill
        )
        if not curves['val']:
            raise RuntimeError(
                f'{variant.name} seed {seed}: no validation record with '
                f'{self.study.primary!r} in {run_dir}'
            )
        rec = dict(
            variant=variant.name,
            seed=seed,
            run_dir=osp.relpath(run_dir, REPO),
            config=variant.config,
            command=' '.join(cmd[1:]),
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            final=curves['val'][-1],
            **curves,
        )
        with open(result + '.tmp', 'w') as f:
            json.dump(rec, f)
        os.replace(result + '.tmp', result)  # an interrupted run leaves no result
        rec['cached'] = False
        return rec

    def plan(self, adopt: bool = False) -> str:
        """Every run of the study (2x length-check runs included, on every seed) with its id
        and :meth:`locate`'s status; printed and returned. Trains nothing.

        Args:
            adopt (bool): Also rename this study's folders named by the former key to their
                ids (:meth:`rename`), so that a study whose spelling changes next (options
                moved into configs, a longer schedule) still finds them. Defaults to False
                (nothing changes).

        Returns:
            str: One line per run, then ``N to train, M cached, K copied``.
        """
        study = self.study
        arms = list(study.variants) + list(study.length_variants().values())
        pairs = [(v, s) for v in arms for s in study.seeds]
        lines, count = [], dict(cached=0, copy=0, legacy=0, train=0)
        for variant, seed in pairs:
            run_dir, status, source = self.locate(variant, seed)
            count[status] += 1
            if adopt and status == 'legacy' and self._owns(source) and not osp.isdir(run_dir):
                self.rename(source, run_dir, variant)
                status = 'renamed'
            where = '' if source is None else f' <- {osp.relpath(source, REPO)}'
            lines.append(f'{status:7s} {variant.name:40s} {osp.basename(run_dir)}{where}')
        lines.append(
            f'{count["train"]} to train, {count["cached"]} cached, '
            f'{count["copy"] + count["legacy"]} copied ({count["legacy"]} by the former key)'
        )
        text = '\n'.join(lines)
        print(text, flush=True)
        return text

    def run(self) -> List[dict]:
        """Every (variant, seed) pair, in the study's order; prints progress with an ETA.

        Holds the study's lock (:meth:`hold`) meanwhile.

        Returns:
            list[dict]: The records, in the study's order.

        Raises:
            StudyLocked: If another harness runs the study.
            StudyInterrupted: After SIGINT / SIGTERM, once every started training has ended
                (the finished ones recorded); says how many runs finished.
            RuntimeError: If runs failed (after every healthy run finished).
        """
        with self.hold():
            self._running = True
            try:
                return self._run()
            finally:
                self._running = False

    def _run(self) -> List[dict]:
        """Every (variant, seed) pair; with :attr:`Study.length_checked`, the length check first.

        Without it: the pairs in the study's order. With it, one group per
        baseline (the baseline and the arms compared with it, in the study's order; arms of
        no baseline last): the baseline's runs and its 2x run of the first seed train first,
        then the other seeds' 2x runs when that seed moved by more than half the tolerance,
        together with the group's arms; so each baseline's length check is complete before
        its arms are read (see :class:`Study`).

        Returns:
            list[dict]: The records in the study's order, then the 2x runs.
        """
        study = self.study
        pairs = [(v, s) for v in study.variants for s in study.seeds]
        longs = study.length_variants()
        for v, s in pairs + [(v, s) for v in longs.values() for s in study.seeds]:
            self.run_dir(v, s)  # resolve every config up front: a broken one fails early
        if not longs:
            return self._run_pairs(pairs, len(pairs))
        groups: Dict[Optional[str], List[Variant]] = {}
        for v in study.variants:
            owner = v.name
            while owner is not None and owner not in longs:
                owner = study.variant(owner).baseline
            groups.setdefault(owner, []).append(v)
        groups = {k: g for k, g in groups.items() if k is not None} | (
            {None: groups[None]} if None in groups else {}
        )
        seeds = study.seeds
        total = len(pairs) + len(longs)
        progress = dict(done=0, total=total)
        records, failures = [], []
        for base, members in groups.items():
            if base is None:
                first, rest = [], [(v, s) for v in members for s in seeds]
            else:
                first = [(study.variant(base), s) for s in seeds] + [(longs[base], seeds[0])]
                rest = [(v, s) for v in members if v.name != base for s in seeds]
            recs, failed = self._run_pairs(first, total, progress=progress) if first else ([], [])
            final = {
                (r['variant'], r['seed']): study.scale * r['final'][study.primary] for r in recs
            }
            if (
                base is not None
                and (longs[base].name, seeds[0]) in final
                and (base, seeds[0]) in final
            ):
                moved = abs(final[(longs[base].name, seeds[0])] - final[(base, seeds[0])])
                if moved > study.converge_tol / 2 and len(seeds) > 1:
                    print(
                        f'length check: {base} moved by {moved:.2f} > {study.converge_tol / 2:g} '
                        f'at 2x on seed {seeds[0]}: its other seeds train at 2x too',
                        flush=True,
                    )
                    rest = [(longs[base], s) for s in seeds[1:]] + rest
                    progress['total'] += len(seeds) - 1
            more, failed_more = self._run_pairs(rest, total, progress=progress)
            records += recs + more
            failures += failed + failed_more
        if failures:
            n = progress['total']
            raise RuntimeError(f'{len(failures)} of {n} runs failed:\n' + '\n'.join(failures))
        order = {(v.name, s): i for i, (v, s) in enumerate(pairs)}
        main = sorted(
            (r for r in records if (r['variant'], r['seed']) in order),
            key=lambda r: order[(r['variant'], r['seed'])],
        )
        return main + [r for r in records if (r['variant'], r['seed']) not in order]

    def _run_pairs(
        self,
        pairs: List[Tuple[Variant, int]],
        total: int,
        progress: Optional[dict] = None,
    ):
        """Train (or read from the cache) ``pairs``; progress lines count up to ``total``.

        Args:
            pairs (list): ``(variant, seed)`` pairs.
            total (int): Runs counted by the progress lines (without ``progress``).
            progress (dict, optional): ``done`` / ``total`` shared by several calls (one
                count over the batches of the length check). With it, failures are
                returned, not raised.

        Returns:
            list[dict] | tuple: The records; with ``progress``, ``(records of the healthy
            runs, failure messages)``.

        Raises:
            StudyInterrupted: After SIGINT / SIGTERM.
            RuntimeError: Without ``progress``, if runs failed (after every healthy run).
        """
        shared = progress is not None
        progress = progress if shared else dict(done=0, total=total)
        trained, t0 = [], time.time()

        def one(pair):
            rec = self.run_one(*pair)
            with self._lock:
                progress['done'] += 1
                done = [progress['done']]
                total = progress['total']
                if not rec['cached']:
                    trained.append(rec['wall_s'])
                elapsed = time.time() - t0
                left = total - done[0]
                eta = (sum(trained) / len(trained) * left / self.jobs) if trained else 0.0
                took = 'cached' if rec['cached'] else f'{rec["wall_s"]:.0f}s'
                print(
                    f'[{done[0]:3d}/{total}] {rec["variant"]:32s} seed {rec["seed"]}: '
                    f'{self.study.primary} '
                    f'{self.study.scale * rec["final"][self.study.primary]:6.2f}  {took}'
                    f' | elapsed {elapsed / 60:5.1f} min, ETA {eta / 60:5.1f} min',
                    flush=True,
                )
            return rec

        with ThreadPoolExecutor(self.jobs) as pool:
            futures = [pool.submit(one, p) for p in pairs]
        errors = [f.exception() for f in futures]
        if self._stop_signal is not None:
            stopped = [e for e in errors if isinstance(e, StudyInterrupted)]
            started = sum(e.started for e in stopped)
            failed = sum(e is not None and not isinstance(e, StudyInterrupted) for e in errors)
            raise StudyInterrupted(
                f'interrupted by {_signal_name(self._stop_signal)}: '
                f'{errors.count(None)} of {total} runs finished (recorded), {started} stopped, '
                f'{len(stopped) - started} not started'
                + (f', {failed} failed' if failed else '')
                + '; rerun to resume',
                self._stop_signal,
            )
        # every healthy run finishes (and is cached) before a failure is reported
        failed = [str(e) for e in errors if e is not None]
        if shared:
            return [f.result() for f in futures if f.exception() is None], failed
        if failed:
            raise RuntimeError(f'{len(failed)} of {total} runs failed:\n' + '\n'.join(failed))
        return [f.result() for f in futures]
