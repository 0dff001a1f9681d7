"""The README's main job, ``bash tools/demo.sh``, end to end on a 4-iteration schedule.

It sets the environment up (a no-op here), builds the digits segmentation data once, trains the
CE baseline and class-level TCE with ``tools/train.py``, evaluates both checkpoints with
``tools/test.py`` and prints their per-class IoU side by side with the fairness keys
(``tools/analysis/compare_seg_runs.py``), and writes the comparison PNG. While the runs train
in the background it shows their progress (``tools/misc/progress.py`` through
``tools/misc/background.sh``, tested here on fake logs and steps), and its terminal steps
hide the host packages' known deprecation warnings (``tools/misc/upstream_warnings.py``).
"""

import io
import json
import os
import os.path as osp
import pty
import re
import subprocess
import sys

import numpy as np
import pytest

from tools.analysis.compare_seg_runs import Run, comparison_figure
from tools.misc import progress
from tools.misc.upstream_warnings import pythonwarnings

from .conftest import REPO, run, tool_env

#: the three upstream deprecation warnings a first demo run used to fill the terminal with
UPSTREAM = (
    'pkg_resources is deprecated',
    '``build_loss`` would be deprecated',
    'Default ``avg_non_ignore`` is False',
)


def test_demo_trains_both_and_prints_them_side_by_side(tmp_path):
    work_dir = str(tmp_path / 'demo')
    env = tool_env()
    env['DEMO_WORK_DIR'] = work_dir
    out = run(
        [
            'bash',
            osp.join(REPO, 'tools', 'demo.sh'),
            '--cfg-options',
            'train_cfg.max_iters=4',
            'train_cfg.val_interval=100000',
            'default_hooks.logger.interval=1',
        ],
        cwd=REPO,
        env=env,
        timeout=900,
    )
    log = out.stdout + out.stderr
    assert 'mcce' in log and 'tce-cls-t1' in log  # both configs trained
    # the progress of both runs (plain lines: not a terminal), then of both evaluations
    for name in ('ce', 'tce'):
        assert re.search(rf'^\[demo\] {name} +iter 4/4  100%  loss [\d.]+', log, re.M), name
        assert re.search(rf'^\[demo\] {name} +done in (?:\d+m)?\d+s, iter 4/4', log, re.M), name
        assert re.search(rf'^\[demo\] {name} +done in (?:\d+m)?\d+s, testing 25/25', log, re.M), (
            name
        )
    assert '\x1b' not in log
    # the known upstream deprecation warnings stay in the logs, off the terminal
    assert log.count('[demo] full logs: ') == 1
    for warning in UPSTREAM:
        assert warning not in log, warning
        with open(osp.join(work_dir, 'ce.log')) as f:
            assert warning in f.read(), warning
    with open(osp.join(work_dir, 'tce.log')) as f:
        assert 'decode.loss_tce' in f.read()  # the TCE run trains with tilted CE
    metrics = {}
    for name in ('ce', 'tce'):
        with open(osp.join(work_dir, name, 'test', 'metrics.json')) as f:
            metrics[name] = json.load(f)
    # the printed side-by-side table: background and ten digits, one column per run
    rows = re.findall(r'^\| IoU (background|\d) \| ([\d.]+|n/a) \| ([\d.]+|n/a) \|$', log, re.M)
    assert [r[0] for r in rows] == ['background'] + [str(d) for d in range(10)]
    for name, ce, tce in rows:
        for value, key in ((ce, 'ce'), (tce, 'tce')):
            saved = metrics[key][f'IoU.{name}']
            if value == 'n/a':
                assert saved is None
            else:  # the printed table is the saved metrics (2 decimals)
                assert abs(saved - float(value)) <= 0.005
    for key in ('ce', 'tce'):
        ious = np.array(
            [
                np.nan if metrics[key][f'IoU.{r[0]}'] is None else metrics[key][f'IoU.{r[0]}']
                for r in rows
            ],
            dtype=float,
        )
        assert abs(metrics[key]['worstIoU'] - np.nanmin(ious)) <= 0.01
    for key in ('mIoU', 'worstIoU', 'stdIoU', 'bottom25_mIoU', 'top25_mIoU'):
        assert re.search(rf'^\| {key} \| [\d.]+ \| [\d.]+ \|$', log, re.M), key
    png = osp.join(work_dir, 'compare.png')
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_background_steps_stop_at_the_first_failure(tmp_path):
    """demo.sh's background steps (tools/misc/background.sh): all succeed, then one fails: its
    log tail is printed at once, the step still running is stopped, the script exits 1."""
    script = f"""
set -euo pipefail
PY={sys.executable}
PROGRESS_PREFIX='[demo] '
source {REPO}/tools/misc/background.sh
start_bg a {tmp_path}/a.log sh -c 'echo "Iter(test) [5/5]  aAcc: 0.9"'
start_bg b {tmp_path}/b.log true
wait_all evaluating
echo "[demo] both evaluated"
start_bg slow {tmp_path}/slow.log sh -c 'echo $$ > {tmp_path}/slow.pid; exec sleep 120'
start_bg bad {tmp_path}/bad.log sh -c 'echo Traceback; echo "ValueError: boom"; exit 3'
wait_all training
echo not reached
"""
    out = subprocess.run(['bash', '-c', script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    first = lines[: lines.index('[demo] both evaluated')]
    for name, last in (('a', 'testing 5/5'), ('b', 'starting')):  # each ended with 0
        mine = [line for line in first if line.startswith(f'[demo] {name}  ')]
        assert re.fullmatch(rf'\[demo\] {name}  done( in \ds)?, {last}', mine[-1]), first
    assert '[demo] bad   FAILED (exit 3), starting' in lines
    assert lines[-3:] == [
        f'[demo] training bad failed (exit 3), see {tmp_path}/bad.log; its last lines:',
        '    Traceback',
        '    ValueError: boom',
    ]
    with open(tmp_path / 'slow.rc') as f:
        assert f.read().strip() == '143'  # stopped by SIGTERM
    with open(tmp_path / 'slow.pid') as f:
        pid = int(f.read())
    with pytest.raises(ProcessLookupError):  # and gone
        os.kill(pid, 0)


def _train_line(it: int, total: int, loss: float) -> str:
    """A training line of mmengine's LoggerHook (the demo's runs log like this)."""
    eta = f'0:{(total - it) // 60:02d}:{(total - it) % 60:02d}'
    return (
        f'12/07 18:04:54 - mmengine - INFO - Iter(train) [{it:>{len(str(total))}}/{total}]  '
        f'lr: 2.0000e-05  eta: {eta}  time: 1.3686  data_time: 0.0573  loss: {loss:.4f}  '
        f'decode.loss_ce: 2.3755  decode.acc_seg: 19.8425\n'
    )


class FakeRuns:
    """Two runs that log while :func:`progress.watch` sleeps: one tick per ``sleep`` call.

    After ``idle`` ticks without a line (the runs start), CE logs every 5th of its 100
    iterations per tick (like ``logger.interval=5``), TCE one iteration per tick; after
    ``ticks`` such ticks both validate and exit with 0. The clock moves 30 s per tick.
    """

    def __init__(self, tmp_path, ticks: int = 20, idle: int = 0) -> None:
        self.runs = []
        for name in ('ce', 'tce'):
            log, rc = str(tmp_path / f'{name}.log'), str(tmp_path / f'{name}.rc')
            with open(log, 'w') as f:
                f.write('12/07 18:04:50 - mmengine - INFO - Config:\nmodel = dict(\n')
            self.runs.append(progress.RunProgress(name, log, rc))
        self.tick, self.ticks, self.idle, self.now = 0, ticks, idle, 0.0

    def write(self, name: str, text: str) -> None:
        with open(next(r.log for r in self.runs if r.name == name), 'a') as f:
            f.write(text)

    def sleep(self, seconds: float) -> None:
        self.tick += 1
        self.now += 30.0
        k = self.tick - self.idle
        if k <= 0:
            return
        if k <= self.ticks:
            self.write('ce', _train_line(5 * k, 100, 3.0 - 0.1 * k))
            self.write('tce', _train_line(k, 100, 3.5 - 0.1 * k))
            return
        for r in self.runs:
            self.write(r.name, 'Iter(val) [25/25]    aAcc: 0.9100  mIoU: 0.0800\n')
            with open(r.status, 'w') as f:
                f.write('0\n')

    def watch(self, out, tty: bool) -> int:
        return progress.watch(
            self.runs,
            out,
            tty,
            'training',
            '[demo] ',
            every=60,
            clock=lambda: self.now,
            sleep=self.sleep,
        )


def test_progress_plain_lines_every_10_percent_or_minute(tmp_path):
    fake = FakeRuns(tmp_path)
    out = io.StringIO()
    assert fake.watch(out, tty=False) == 0
    text = out.getvalue()
    assert '\x1b' not in text and '\r' not in text
    lines = text.splitlines()
    assert lines[:2] == ['[demo] ce   starting', '[demo] tce  starting']
    printed = {
        name: [int(m) for m in re.findall(rf'^\[demo\] {name} +iter +(\d+)/100', text, re.M)]
        for name in ('ce', 'tce')
    }
    # CE: when it starts training, then at each further 10 % (5 % is no new tenth)
    assert printed['ce'] == [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    # TCE moves slower: each 60 s it moved (two ticks), and when it reaches 10 %
    assert printed['tce'] == [1, 3, 5, 7, 9, 10, 12, 14, 16, 18, 20]
    assert '[demo] ce   iter  10/100   10%  loss 2.8000  eta 0:01:30' in lines
    assert '[demo] ce   iter 100/100  100%  loss 1.0000  validating 25/25' not in lines  # 1 tick
    assert lines[-2:] == [
        '[demo] ce   done in 10m30s, iter 100/100  100%  loss 1.0000',
        '[demo] tce  done in 10m30s, iter  20/100   20%  loss 1.5000',
    ]


def test_progress_redraws_in_place_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv('COLUMNS', '46')  # shutil.get_terminal_size reads it first
    fake = FakeRuns(tmp_path, ticks=3, idle=1)
    out = io.StringIO()
    assert fake.watch(out, tty=True) == 0
    frames = out.getvalue().split('\x1b[2A')  # each redraw moves up over the two lines
    lines = [[line[len('\x1b[2K') :] for line in f.split('\n')[:-1]] for f in frames]
    assert all(f.endswith('\n') and f.count('\x1b[2K') == f.count('\n') == 2 for f in frames)
    assert [frame[0] for frame in lines] == [
        '[demo] ce   starting',
        '[demo] ce   starting (30s)',  # still starting
        # cut to the terminal's 46 columns less one (a wrapped line would break the redraw)
        '[demo] ce   iter   5/100    5%  loss 2.9000  ',
        '[demo] ce   iter  10/100   10%  loss 2.8000  ',
        '[demo] ce   iter  15/100   15%  loss 2.7000  ',
        '[demo] ce   done in 2m30s, iter  15/100   15%',
    ]
    assert [frame[1] for frame in lines] == [
        '[demo] tce  starting',
        '[demo] tce  starting (30s)',
        '[demo] tce  iter   1/100    1%  loss 3.4000  ',
        '[demo] tce  iter   2/100    2%  loss 3.3000  ',
        '[demo] tce  iter   3/100    3%  loss 3.2000  ',
        '[demo] tce  done in 2m30s, iter   3/100    3%',
    ]


def test_progress_detects_a_terminal(tmp_path):
    """The script redraws in place when its stdout is a terminal, prints plain lines if not."""
    args = [sys.executable, osp.join(REPO, 'tools', 'misc', 'progress.py')]
    for name in ('ce', 'tce'):
        log, rc = str(tmp_path / f'{name}.log'), str(tmp_path / f'{name}.rc')
        with open(log, 'w') as f:
            f.write(_train_line(50, 50, 0.5))
        with open(rc, 'w') as f:
            f.write('0\n')
        args += ['--run', name, log, rc]
    env = dict(os.environ, TERM='xterm')
    plain = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == (
        'ce   done, iter 50/50  100%  loss 0.5000\ntce  done, iter 50/50  100%  loss 0.5000\n'
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert b''.join(chunks) == (
        b'\x1b[2Kce   done, iter 50/50  100%  loss 0.5000\r\n'
        b'\x1b[2Ktce  done, iter 50/50  100%  loss 0.5000\r\n'
    )


def test_progress_stops_at_a_failed_run_with_its_log_tail(tmp_path):
    fake = FakeRuns(tmp_path)
    fake.write('ce', _train_line(5, 100, 2.0))
    fake.write('tce', 'Traceback (most recent call last):\n  File "tools/train.py", line 76\n')
    fake.write('tce', '    main()\nRuntimeError: out of memory\n')
    with open(fake.runs[1].status, 'w') as f:
        f.write('1\n')

    def no_sleep(seconds):
        raise AssertionError('watch waited for CE after TCE failed')

    out = io.StringIO()
    code = progress.watch(fake.runs, out, False, 'training', '[demo] ', tail=3, sleep=no_sleep)
    assert code == 1
    log = fake.runs[1].log
    assert out.getvalue().splitlines() == [
        '[demo] ce   iter   5/100    5%  loss 2.0000  eta 0:01:35',
        '[demo] tce  FAILED (exit 1), starting',
        f'[demo] training tce failed (exit 1), see {log}; its last lines:',
        '      File "tools/train.py", line 76',
        '        main()',
        '    RuntimeError: out of memory',
    ]


def test_terminal_steps_hide_upstream_warnings_not_mmext_ones(tmp_path):
    """The demo's terminal steps run with this PYTHONWARNINGS: the host packages' deprecation
    warnings are gone, mmext's own (here: an unreadable class-index cache) still show."""
    bad_cache = str(tmp_path / 'index.npz')
    with open(bad_cache, 'w') as f:
        f.write('not a zip')
    code = f"""
import warnings
import mmengine  # imports pkg_resources
from mmseg.models.builder import build_loss
from mmext.datasets.samplers.class_index import _load_cache

build_loss(dict(type='CrossEntropyLoss'))  # mmseg: build_loss, avg_non_ignore
assert _load_cache({bad_cache!r}, 11, 1) is None  # mmext: warns, rebuilds
with warnings.catch_warnings(record=True) as caught:  # the same calls do warn
    warnings.simplefilter('always')
    build_loss(dict(type='CrossEntropyLoss'))
for w in caught:
    print(w.message)
"""
    env = tool_env()
    env['PYTHONWARNINGS'] = pythonwarnings('')
    out = run([sys.executable, '-c', code], cwd=REPO, env=env, timeout=300)
    assert UPSTREAM[1] in out.stdout and UPSTREAM[2] in out.stdout  # recorded, not shown
    for warning in UPSTREAM:
        assert warning not in out.stderr, out.stderr
    assert f'UserWarning: class index cache {bad_cache} is unreadable' in out.stderr


def test_pythonwarnings_keeps_the_users_filters_last():
    assert pythonwarnings('error::DeprecationWarning').split(',') == [
        'ignore:pkg_resources is deprecated:UserWarning',
        'ignore:``build_loss`` would be deprecated:UserWarning',
        'ignore:Default ``avg_non_ignore`` is False:UserWarning',
        'error::DeprecationWarning',
    ]


def test_compare_figure_legend_is_outside_the_bars(tmp_path):
    """The legend sits outside the IoU axes (it used to cover the rarest classes' bars)."""
    names = ['background'] + [str(d) for d in range(10)]
    runs = []
    for label, low in (('CE', 0.0), ('TCE class t=1', 40.0)):
        metrics = {f'IoU.{n}': 95.0 - i * (95.0 - low) / 10 for i, n in enumerate(names)}
        metrics.update(mIoU=60.0, stdIoU=20.0, worstIoU=low)
        runs.append(Run(label, 'cfg.py', 'ckpt.pth', metrics))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(2)]
    truths = [rng.integers(0, 11, (32, 32)) for _ in range(2)]
    preds = [[t.copy() for t in truths] for _ in runs]
    fig = comparison_figure(runs, images, truths, preds)
    png = str(tmp_path / 'compare.png')
    fig.savefig(png, dpi=90)  # as draw() does; the layout below is the saved one
    to_fig = fig.transFigure.inverted()
    renderer = fig.canvas.get_renderer()
    bars_ax = fig.axes[0]
    legend = bars_ax.get_legend().get_window_extent(renderer).transformed(to_fig)
    axes = bars_ax.get_window_extent(renderer).transformed(to_fig)
    assert legend.y0 >= axes.y1  # above the axes, so over no bar
    assert 0 <= legend.x0 < legend.x1 <= 1 and legend.y1 <= 1  # inside the saved figure
    title = fig._suptitle.get_window_extent(renderer).transformed(to_fig)
    assert not legend.overlaps(title)
    for other in fig.axes[1:]:  # nor over the image panels
        assert not legend.overlaps(other.get_tightbbox(renderer).transformed(to_fig))
    for bar in bars_ax.patches:  # in particular not over the last (rarest) class's bars
        assert not legend.overlaps(bar.get_window_extent(renderer).transformed(to_fig))
    import matplotlib.pyplot as plt

    plt.close(fig)
