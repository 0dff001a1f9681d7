"""Kill-during-save driver for ``test_safe_checkpoint_hook.py`` (run as a script).

    python safe_checkpoint_kill_worker.py ROOT REPORT.json [--kills 20] [--seed 0]

A fresh interpreter imports torch, mmengine and mmext once, then *forks* one child per round:
the child trains a tiny model through mmengine's ``Runner`` (``resume=True``, a checkpoint
every iteration, ``max_keep_ckpts=1``, ``type='mmext.SafeCheckpointHook'``) and the driver
sends it SIGKILL, either after a uniformly random delay or at a random moment after a random
step of a save (the file write, the renames, the deletion of the old checkpoint). In the child
the file write is slowed (written in chunks with short sleeps) and ``os.replace`` /
``os.remove`` pause briefly, so that the save windows are wide enough to be hit. The child
reports, through an unbuffered pipe, the iteration it resumed from (``START r``), every
iteration it begins (``ITER i``), every save step and ``DONE``.

The driver also runs (1) a reference run without kills and (2) a control: the same harness
with mmengine's ``CheckpointHook``, killed during its save. Everything the test asserts on
goes to the JSON report.
"""

import argparse
import json
import os
import os.path as osp
import random
import select
import shutil
import signal
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.model import BaseModel  # noqa: E402
from mmengine.registry import DATASETS, HOOKS, MODELS  # noqa: E402

import mmext  # noqa: E402,F401  (SafeCheckpointHook, checkpoint loading)

MAX_ITERS = 8
_FD = None  # write end of the child's report pipe


def emit(line: str) -> None:
    """Write one report line to the driver (unbuffered, survives SIGKILL once written)."""
    if _FD is not None:
        os.write(_FD, (line + '\n').encode())


@MODELS.register_module()
class MmextKillTestModel(BaseModel):
    """y = Wx + b trained with MSE (enough state: weights, SGD momentum, scheduler)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out - targets) ** 2).mean())
        return out


@DATASETS.register_module()
class MmextKillTestDataset(torch.utils.data.Dataset):
    """32 fixed random regression samples."""

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(32, 8, generator=gen)
        self.y = self.x.sum(1, keepdim=True) + 0.1 * torch.randn(32, 1, generator=gen)
        self.metainfo = dict(name='kill-test')

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], targets=self.y[idx])


@HOOKS.register_module()
class MmextKillTestMarkers(Hook):
    """Reports progress to the driver; runs after the checkpoint hook."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        emit(f'START {runner.iter}')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        emit(f'ITER {runner.iter + 1}')

    def after_train(self, runner) -> None:
        emit('DONE')


def make_cfg(
    work_dir: str,
    hook_type: str = 'mmext.SafeCheckpointHook',
    max_iters=MAX_ITERS,
    max_keep_ckpts: int = 1,
    resume: bool = True,
) -> dict:
    """Config of the tiny run."""
    return dict(
        model=dict(type='MmextKillTestModel'),
        work_dir=work_dir,
        experiment_name='kill_test',
        train_dataloader=dict(
            dataset=dict(type='MmextKillTestDataset'),
            # no epoch end (mmengine's iterator sleeps 2 s when it restarts a sampler)
            sampler=dict(type='InfiniteSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=4,
            num_workers=0,
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=max_iters)
        ],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(
                type=hook_type, by_epoch=False, interval=1, max_keep_ckpts=max_keep_ckpts
            ),
            logger=dict(type='LoggerHook', interval=100),
        ),
        custom_hooks=[dict(type='MmextKillTestMarkers')],
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        resume=resume,
        log_level='WARNING',
    )


def _slow_save_steps(chunk_sleep: float, step_sleep: float) -> None:
    """In the child: widen the save windows and report each step."""
    from mmengine.fileio.backends import LocalBackend

    def put(self, obj, filepath):
        name = osp.basename(str(filepath))
        emit(f'PUT {name}')
        with open(filepath, 'wb') as f:
            step = max(1, len(obj) // 8)
            for start in range(0, len(obj), step):
                f.write(obj[start : start + step])
                f.flush()
                time.sleep(chunk_sleep)
        emit(f'PUT_DONE {name}')

    real_replace, real_remove = os.replace, os.remove

    def replace(src, dst, *args, **kwargs):
        emit(f'REPLACE {osp.basename(str(dst))}')
        time.sleep(step_sleep)
        real_replace(src, dst, *args, **kwargs)
        time.sleep(step_sleep)

    def remove(path, *args, **kwargs):
        emit(f'REMOVE {osp.basename(str(path))}')
        time.sleep(step_sleep)
        real_remove(path, *args, **kwargs)
        time.sleep(step_sleep)

    LocalBackend.put = put
    os.replace, os.remove = replace, remove


def _cache_config_text() -> None:
    """In the child: format the config once (mmengine re-runs yapf on every save, ~60 ms;
    it is only the text stored in ``meta``). Saves stay otherwise unchanged."""
    from mmengine.config import Config

    formatted = {}
    fget = Config.pretty_text.fget
    Config.pretty_text = property(lambda self: formatted.setdefault(id(self), fget(self)))


def start_child(cfg: dict, slow: bool = True):
    """Fork a child that trains ``cfg``; return (pid, read fd)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        global _FD
        os.close(read_fd)
        _FD = write_fd
        code = 1
        try:
            _cache_config_text()
            if slow:
                _slow_save_steps(chunk_sleep=0.002, step_sleep=0.004)
            from mmengine.config import Config
            from mmengine.runner import Runner

            Runner.from_cfg(Config(cfg)).train()
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the driver
            emit(f'ERROR {type(exc).__name__}: {exc}'.replace('\n', ' | '))
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


#: save steps that at least one kill must hit (the test checks it)
MUST_KILL_AT = ('PUT', 'REPLACE')


def run_round(
    cfg: dict, rng: random.Random, kill: bool, slow: bool = True, plan=None, duration: float = 1.0
) -> dict:
    """One child run, killed according to a random plan (or ``plan``) unless ``kill`` is off.

    Random plans: SIGKILL after a delay uniform in ``[0.1 s, duration]`` (``duration`` = how
    long a whole run takes), or a random delay of up to 20 ms after the n-th report of a
    random save step (n in 1..4).
    """
    pid, fd = start_child(cfg, slow)
    if plan is None and kill:
        if rng.random() < 0.4:
            plan = ('time', rng.uniform(0.1, duration))
        else:
            plan = (
                'marker',
                rng.choice(['PUT', 'PUT_DONE', 'REPLACE', 'REMOVE']),
                rng.randint(1, 4),
                rng.uniform(0.0, 0.02),
            )
    started = time.time()
    buf, lines, status, killed_at = b'', [], None, None
    seen = 0
    while status is None:
        ready, _, _ = select.select([fd], [], [], 0.005)
        if ready:
            chunk = os.read(fd, 65536)
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                lines.append(line.decode())
                if (
                    plan
                    and plan[0] == 'marker'
                    and killed_at is None
                    and lines[-1].split(' ')[0] == plan[1]
                ):
                    seen += 1
                    if seen == plan[2]:
                        time.sleep(plan[3])
                        os.kill(pid, signal.SIGKILL)
                        killed_at = lines[-1]
        if plan and plan[0] == 'time' and killed_at is None and time.time() - started >= plan[1]:
            os.kill(pid, signal.SIGKILL)
            killed_at = f'{plan[1]:.3f}s'
        done_pid, raw = os.waitpid(pid, os.WNOHANG)
        if done_pid:
            status = raw
        if time.time() - started > 120:
            os.kill(pid, signal.SIGKILL)
            killed_at = 'timeout'
    while True:  # drain what the child wrote before it died
        ready, _, _ = select.select([fd], [], [], 0)
        chunk = os.read(fd, 65536) if ready else b''
        if not chunk:
            break
        buf += chunk
    os.close(fd)
    lines += [ln.decode() for ln in buf.split(b'\n') if ln]
    signalled = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    iters = [int(ln.split()[1]) for ln in lines if ln.startswith('ITER ')]
    starts = [int(ln.split()[1]) for ln in lines if ln.startswith('START ')]
    return dict(
        plan=list(plan) if plan else None,
        killed=signalled,
        killed_at=killed_at,
        exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        start=starts[0] if starts else None,
        last_iter=iters[-1] if iters else None,
        done='DONE' in lines,
        errors=[ln for ln in lines if ln.startswith('ERROR')],
        seconds=round(time.time() - started, 3),
    )


def final_weights(work_dir: str) -> list:
    """The weights of ``iter_{MAX_ITERS}.pth`` in ``work_dir``."""
    ckpt = torch.load(
        osp.join(work_dir, f'iter_{MAX_ITERS}.pth'), map_location='cpu', weights_only=True
    )
    state = ckpt['state_dict']
    return torch.cat([state['linear.weight'].view(-1), state['linear.bias'].view(-1)]).tolist()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('root')
    parser.add_argument('report')
    parser.add_argument('--kills', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    from mmext.utils.checkpoint import checkpoint_problem, read_last_checkpoint

    rng = random.Random(args.seed)
    t0 = time.time()
    report = dict(seed=args.seed, max_iters=MAX_ITERS)

    ref_dir = osp.join(args.root, 'reference')
    report['reference'] = run_round(make_cfg(ref_dir), rng, kill=False)
    duration = report['reference']['seconds']
    report['reference_weights'] = final_weights(ref_dir)

    # control: mmengine's hook killed while it writes iter_3 (it deleted iter_2 before)
    ctl_dir = osp.join(args.root, 'control')
    report['control'] = run_round(
        make_cfg(ctl_dir, hook_type='CheckpointHook'),
        rng,
        kill=True,
        plan=('marker', 'PUT', 3, 0.01),
    )
    named = read_last_checkpoint(ctl_dir)
    report['control_last_checkpoint'] = named
    report['control_files'] = {
        name: checkpoint_problem(osp.join(ctl_dir, name))
        for name in sorted(os.listdir(ctl_dir))
        if name.endswith('.pth')
    }
    report['control_named_problem'] = checkpoint_problem(named) if named else 'no file'

    work_dir = osp.join(args.root, 'killed')
    rounds, runs = [], 0

    def killed_round(plan=None) -> dict:
        nonlocal runs
        record = run_round(make_cfg(work_dir), rng, kill=True, plan=plan, duration=duration)
        record['run'] = runs
        record['files_after'] = sorted(
            n for n in os.listdir(work_dir) if not osp.isdir(osp.join(work_dir, n))
        )
        record['intact_after'] = sorted(
            n
            for n in record['files_after']
            if n.endswith('.pth') and checkpoint_problem(osp.join(work_dir, n)) is None
        )
        rounds.append(record)
        if record['done'] and not record['errors']:  # finished before the kill: a new run
            record['final_weights'] = final_weights(work_dir)
            shutil.rmtree(work_dir)
            runs += 1
        return record

    while sum(r['killed'] for r in rounds) < args.kills and len(rounds) < 4 * args.kills:
        if killed_round()['errors']:  # a resume failed: nothing more to learn
            break
    # a kill inside each save step whatever the random plans hit (which of them a round
    # reaches depends on where the earlier, timed kills fell, i.e. on the machine's load):
    # killed at that step's next report, up to 3 tries (a resumed run may end first)
    for step in MUST_KILL_AT:
        for _ in range(3):
            if rounds[-1]['errors'] or any(
                r['killed'] and r['plan'] and r['plan'][:2] == ['marker', step] for r in rounds
            ):
                break
            killed_round(('marker', step, 1, 0.0))
    final = run_round(make_cfg(work_dir), rng, kill=False)
    final['run'] = runs
    rounds.append(final)
    if final['done']:
        final['final_weights'] = final_weights(work_dir)
    report['rounds'] = rounds
    report['seconds'] = round(time.time() - t0, 2)
    with open(args.report, 'w') as f:
        json.dump(report, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
