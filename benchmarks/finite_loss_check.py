"""The cost of SafeCheckpointHook's non-finite loss check on the digits configs' training step.

    OMP_NUM_THREADS=2 python benchmarks/finite_loss_check.py [--iters 60] [--rounds 4]

The check (``check_finite_loss=1``, the default of every mmext config) reads the loss values
mmengine's ``RuntimeInfoHook`` has already logged, so it should cost nothing measurable; the
target is steps/s within 2 % of the run without it (``check_finite_loss=0``, mmengine's
behaviour). Each digits config trains ``--iters`` iterations per run, with and without the
check, in ABBA order over ``--rounds`` rounds, in one process; the time per iteration is taken
between iteration 10 and the last one (start-up and the first iterations excluded), on the
process CPU clock. No checkpoint is saved during the timed iterations. Writes
``benchmarks/results/finite_loss_check.{json,md}``.
"""

import argparse
import os.path as osp
import tempfile
import time
from typing import Dict, List

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from timing import REPO, command_line, machine_info, median, run_interleaved, write_results

import mmext  # noqa: F401  (registration)

CONFIGS = {
    'seg (DeepLabV3+)': 'configs/digits/deeplabv3plus_r18-tiny_1xb8-2k_digits-seg.py',
    'cls (ResNet)': 'configs/digits/resnet-tiny_1xb32-1k_digits-cls.py',
}
SKIP = 10  # iterations excluded from the timing (start-up)


class _IterClock(Hook):
    """Records the process CPU time at the end of every training iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.stamps: List[float] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.stamps.append(time.process_time())


def _train(config: str, iters: int, check: int, work_dir: str) -> float:
    """Seconds per iteration of one short run (iterations SKIP..iters)."""
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = 10**9
    cfg.default_hooks.checkpoint.interval = 10**9  # no save inside the timed window
    cfg.default_hooks.checkpoint.save_last = False
    cfg.default_hooks.checkpoint.check_finite_loss = check
    cfg.default_hooks.logger.interval = 10**9
    cfg.log_level = 'WARNING'
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    clock = _IterClock()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(clock)
    runner.train()
    stamps = clock.stamps
    return (stamps[-1] - stamps[SKIP - 1]) / (len(stamps) - SKIP)


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=60)
    parser.add_argument('--rounds', type=int, default=4)
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in CONFIGS.items():
            steps = {
                label: (
                    lambda c=check, label=label: _train(
                        config, args.iters, c, osp.join(tmp, f'{osp.basename(config)}-{label}')
                    )
                )
                for label, check in (('without check', 0), ('with check', 1))
            }
            runs = run_interleaved(steps, rounds=args.rounds, alternate=True)
            off, on = median(runs['without check']), median(runs['with check'])
            rows[name] = dict(
                config=config,
                runs=runs,
                seconds_per_iter_without=off,
                seconds_per_iter_with=on,
                steps_per_s_ratio=off / on,
            )
    # the check can only cost time: a ratio above 1 is noise; below 0.98 fails
    ok = all(r['steps_per_s_ratio'] >= 0.98 for r in rows.values())
    lines = [
        '# Non-finite loss check: training speed with / without',
        '',
        f'Command: `{command_line()}`',
        '',
        f'{args.iters} iterations per run (timed from iteration {SKIP}), {args.rounds} ABBA '
        'rounds, medians of process CPU seconds per iteration; no checkpoint saved in the '
        'timed window. Target: steps/s with the check at least 0.98x of without (within 2 %).',
        '',
        '| config | s/iter without | s/iter with | steps/s with / without |',
        '|---|---|---|---|',
    ]
    for name, r in rows.items():
        lines.append(
            f'| {name} | {r["seconds_per_iter_without"]:.4f} | '
            f'{r["seconds_per_iter_with"]:.4f} | {r["steps_per_s_ratio"]:.3f} |'
        )
    lines += [
        '',
        f'Verdict: {"PASS" if ok else "FAIL"} (steps/s with the check >= 0.98x without)',
        '',
    ]
    result = dict(command=command_line(), rows=rows, passed=ok, **machine_info())
    write_results('finite_loss_check', result, lines)
    print('\n'.join(lines))
    return result


if __name__ == '__main__':
    main()
