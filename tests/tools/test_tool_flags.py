"""The mmdet/mmseg tool flags: ``--resume [CKPT]``, ``--auto-scale-lr``, ``--show``,
``--show-dir``, ``--wait-time`` and ``--tta``.

Real runs of ``tools/train.py`` / ``tools/test.py`` on the tiny digits segmentation config
(a 4-iteration training shared by the module), plus in-process calls of the tools' ``main``
for the errors raised before a runner is built.
"""

import functools
import glob
import importlib.util
import json
import os.path as osp
import re
import shutil
import sys

import pytest
import torch
from mmengine.config import Config

from .conftest import DET_CFG, REPO, SEG_CFG, TEST, TRAIN, run_tool

BASE_BATCH = 16  # auto_scale_lr.base_batch_size of the shared training run
# short training runs: no validation, no dataloader worker processes, a log line per iteration
TRAIN_FAST = [
    'default_hooks.logger.interval=1',
    'val_cfg=None',
    'val_dataloader=None',
    'val_evaluator=None',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
]
# test runs on 16 images (2 batches) in the main process
TEST_FAST = [
    'test_dataloader.dataset.indices=16',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
]


@functools.lru_cache(maxsize=None)
def _tool(name: str):
    """Import ``tools/<name>.py`` as a module (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        f'mmext_tool_{name}', osp.join(REPO, 'tools', f'{name}.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(path):
    import mmext  # noqa: F401  (weights-only loading of mmengine checkpoints)

    return torch.load(path, map_location='cpu')


@pytest.fixture(scope='module')
def trained(workspace):
    """4 iterations with --auto-scale-lr, checkpoints at 2 and 4 (both kept)."""
    work_dir = osp.join(workspace, 'flags_train')
    log = run_tool(
        TRAIN,
        SEG_CFG,
        cwd=workspace,
        work_dir=work_dir,
        flags=['--auto-scale-lr'],
        options=[
            'train_cfg.max_iters=4',
            'default_hooks.checkpoint.interval=2',
            'default_hooks.checkpoint.max_keep_ckpts=3',
            f'auto_scale_lr.base_batch_size={BASE_BATCH}',
            *TRAIN_FAST,
        ],
    )
    return work_dir, log


@pytest.fixture
def in_process(monkeypatch):
    """Run a tool's ``main`` in this process; its LOCAL_RANK export is undone afterwards."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    return _tool


def _copy_run(src: str, dst: str) -> str:
    """A copy of a work dir whose ``last_checkpoint`` points into the copy."""
    shutil.copytree(src, dst)
    with open(osp.join(dst, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(dst, 'iter_4.pth'))
    return dst


# ----------------------------------------------------------------------------- train.py
def test_resume_argument_forms(in_process):
    parse = in_process('train').parse_args
    assert parse([SEG_CFG]).resume is None
    assert parse([SEG_CFG, '--resume']).resume == 'auto'
    assert parse([SEG_CFG, '--resume', '--amp']).resume == 'auto'
    args = parse([SEG_CFG, '--resume', '--cfg-options', 'train_cfg.max_iters=3'])
    assert args.resume == 'auto' and args.cfg_options == {'train_cfg.max_iters': 3}
    assert parse([SEG_CFG, '--resume', 'w/iter_2.pth']).resume == 'w/iter_2.pth'


def test_resume_from_explicit_checkpoint(trained, workspace, tmp_path):
    src, _ = trained
    # last_checkpoint names iter_4: the explicit iter_2 must win over the automatic choice
    work_dir = _copy_run(src, str(tmp_path / 'explicit'))
    log = run_tool(
        TRAIN,
        SEG_CFG,
        cwd=workspace,
        work_dir=work_dir,
        flags=['--resume', osp.join(work_dir, 'iter_2.pth')],
        options=['train_cfg.max_iters=3', 'default_hooks.checkpoint.max_keep_ckpts=3', *TRAIN_FAST],
    )
    assert 'resumed epoch: 0, iter: 2' in log, log[-3000:]
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log
    final = _load(osp.join(work_dir, 'iter_3.pth'))
    assert final['meta']['iter'] == 3
    assert len(final['message_hub']['log_scalars']['train/loss'].data[0]) == 3


def test_auto_resume_takes_newest_intact_checkpoint(trained, workspace, tmp_path):
    src, _ = trained
    work_dir = _copy_run(src, str(tmp_path / 'auto'))
    latest = osp.join(work_dir, 'iter_4.pth')
    size = osp.getsize(latest)
    with open(latest, 'r+b') as f:  # a save cut short
        f.truncate(size // 2)
    # a config `load_from` is cleared by a bare --resume (as mmdet): the intact iter_4 of the
    # original run given here would otherwise be resumed from
    log = run_tool(
        TRAIN,
        SEG_CFG,
        cwd=workspace,
        work_dir=work_dir,
        flags=['--resume'],
        options=[
            f'load_from={osp.join(src, "iter_4.pth")}',
            'train_cfg.max_iters=3',
            'default_hooks.checkpoint.max_keep_ckpts=3',
            *TRAIN_FAST,
        ],
    )
    assert f'resuming from {osp.join(work_dir, "iter_2.pth")} instead' in log, log[-3000:]
    assert latest in log  # the warning names the damaged file
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log


def test_resume_missing_checkpoint_names_it(in_process, tmp_path):
    missing = str(tmp_path / 'nowhere' / 'iter_7.pth')
    with pytest.raises(FileNotFoundError, match=re.escape(f'checkpoint not found: {missing}')):
        in_process('train').main([SEG_CFG, '--work-dir', str(tmp_path), '--resume', missing])
    with pytest.raises(FileNotFoundError, match='is not a checkpoint file'):
        in_process('train').main([SEG_CFG, '--work-dir', str(tmp_path), '--resume', str(tmp_path)])


def test_auto_scale_lr_scales_by_batch_ratio(trained):
    work_dir, log = trained
    cfg = Config.fromfile(SEG_CFG)
    base_lr = cfg.optim_wrapper.optimizer.lr
    batch = cfg.train_dataloader.batch_size  # one process
    ratio = batch / BASE_BATCH
    assert ratio != 1
    assert f'Scaling the original LR by {ratio}' in log
    groups = _load(osp.join(work_dir, 'iter_2.pth'))['optimizer']['param_groups']
    # the schedulers start from the scaled lr (mmengine scales before building them)
    assert [g['initial_lr'] for g in groups] == pytest.approx([base_lr * ratio] * len(groups))


def test_auto_scale_lr_needs_the_config_entry(in_process, tmp_path):
    train = in_process('train')
    with pytest.raises(ValueError, match='the config has no `auto_scale_lr`'):
        train.main([SEG_CFG, '--auto-scale-lr', '--work-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='has no `base_batch_size`'):
        train.main(
            [
                SEG_CFG,
                '--auto-scale-lr',
                '--work-dir',
                str(tmp_path),
                '--cfg-options',
                'auto_scale_lr.enable=False',
            ]
        )
    with pytest.raises(ValueError, match='positive integer'):
        train.main(
            [
                SEG_CFG,
                '--auto-scale-lr',
                '--work-dir',
                str(tmp_path),
                '--cfg-options',
                'auto_scale_lr.base_batch_size=0',
            ]
        )
    # without the flag the entry stays off (mmengine scales only when enable is True)
    from mmext.apis.launch import prepare_cfg

    cfg = prepare_cfg(SEG_CFG, cfg_options={'auto_scale_lr.base_batch_size': 16})
    assert not cfg.auto_scale_lr.get('enable', False)
    cfg = prepare_cfg(
        SEG_CFG, cfg_options={'auto_scale_lr.base_batch_size': 16}, auto_scale_lr=True
    )
    assert cfg.auto_scale_lr.enable is True


# ----------------------------------------------------------------------------- test.py
def test_show_dir_writes_drawn_predictions(trained, workspace, tmp_path):
    import cv2

    work_dir, _ = trained
    # a relative DIR is relative to the current directory
    show_dir = osp.relpath(str(tmp_path / 'vis'), workspace)
    run_tool(
        TEST,
        SEG_CFG,
        osp.join(work_dir, 'iter_4.pth'),
        cwd=workspace,
        work_dir=str(tmp_path / 'test'),
        flags=['--show-dir', show_dir],
        options=TEST_FAST,
    )
    cfg = Config.fromfile(SEG_CFG)
    images = sorted(glob.glob(str(tmp_path / 'vis' / 'vis_data' / 'vis_image' / '*.png')))
    # every one of the 16 test images (TEST_FAST), not every 50th batch (mmseg's default)
    assert len(images) == 16
    for path in images:
        name = osp.basename(path)
        assert name.startswith('test_') and name.endswith('.png_0.png')
        source = osp.join(
            workspace, cfg.data_root, 'img_dir', 'val', name[len('test_') : -len('_0.png')]
        )
        # mmseg draws the ground truth and the prediction side by side
        height, width = cv2.imread(source).shape[:2]
        assert cv2.imread(path).shape == (height, 2 * width, 3)


def test_tta_uses_tta_model_and_pipeline(trained, workspace, tmp_path):
    work_dir, _ = trained
    config = tmp_path / 'tta_digits.py'
    config.write_text(f"""_base_ = [{SEG_CFG!r}]
tta_model = dict(type='SegTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations')],
        [dict(type='PackSegInputs')]])
]
""")
    metrics_file = str(tmp_path / 'tta.json')
    log = run_tool(
        TEST,
        str(config),
        osp.join(work_dir, 'iter_4.pth'),
        cwd=workspace,
        work_dir=str(tmp_path / 'test'),
        flags=['--tta', '--out', metrics_file],
        options=TEST_FAST,
    )
    assert 'Iter(test) [2/2]' in log
    # the config the runner ran (dumped by mmengine): TTA model around the digits model
    used = Config.fromfile(str(tmp_path / 'test' / 'tta_digits.py'))
    assert used.model.type == 'SegTTAModel'
    assert used.model.module.type == 'EncoderDecoder'
    assert used.model.module.backbone.depth == 18
    pipeline = used.test_dataloader.dataset.pipeline
    assert [t['type'] for t in pipeline] == ['LoadImageFromFile', 'TestTimeAug']
    metrics = json.load(open(metrics_file))
    assert 0.0 <= metrics['mIoU'] <= 100.0 and 'aAcc' in metrics


def test_tta_needs_tta_model_and_pipeline(in_process, tmp_path):
    ckpt = tmp_path / 'any.pth'
    ckpt.write_bytes(b'')  # never loaded: the error comes first
    # mmseg's default_runtime defines tta_model = dict(type='SegTTAModel'), not the pipeline
    with pytest.raises(ValueError, match='--tta needs `tta_pipeline` in the config'):
        in_process('test').main([SEG_CFG, str(ckpt), '--tta', '--work-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='--tta needs `tta_model` and `tta_pipeline`'):
        in_process('test').main(
            [
                SEG_CFG,
                str(ckpt),
                '--tta',
                '--work-dir',
                str(tmp_path),
                '--cfg-options',
                'tta_model=None',
            ]
        )


def test_show_without_display_fails_clearly(in_process, tmp_path, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    monkeypatch.setattr(sys, 'platform', 'linux')
    ckpt = tmp_path / 'any.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(RuntimeError, match='no display.*--show-dir'):
        in_process('test').main([SEG_CFG, str(ckpt), '--show', '--work-dir', str(tmp_path)])


@pytest.mark.parametrize('backend', ['agg', 'Agg', 'pdf', 'svg'])
def test_show_with_a_display_but_no_gui_backend_points_to_show_dir(backend):
    """A DISPLAY with MPLBACKEND=Agg: mmengine would draw, open nothing and exit 0 (issue 26
    item 14)."""
    from mmext.apis.evaluation_flags import interactive_backend, trigger_visualization_hook

    assert interactive_backend(backend) == (False, backend)
    assert interactive_backend('TkAgg') == (True, 'TkAgg')
    with pytest.raises(RuntimeError, match=f"backend '{backend}' cannot.*--show-dir"):
        trigger_visualization_hook(
            Config.fromfile(SEG_CFG), show=True, environ={'DISPLAY': ':0'}, backend=backend
        )


def test_visualization_settings_per_host(tmp_path):
    from mmext.apis.evaluation_flags import has_display, trigger_visualization_hook

    assert not has_display({}, 'linux')
    assert has_display({'DISPLAY': ':0'}, 'linux')
    assert has_display({'WAYLAND_DISPLAY': 'wayland-0'}, 'linux')
    assert has_display({}, 'darwin') and has_display({}, 'win32')

    display = {'DISPLAY': ':0'}
    seg = trigger_visualization_hook(
        Config.fromfile(SEG_CFG), show=True, wait_time=0.5, environ=display, backend='TkAgg'
    )
    hook = seg.default_hooks.visualization
    assert (hook.draw, hook.show, hook.wait_time, hook.interval) == (True, True, 0.5, 1)
    # mmseg's hook saves through the visualizer's backends
    seg = trigger_visualization_hook(Config.fromfile(SEG_CFG), show_dir='rel')
    assert seg.visualizer.save_dir == osp.abspath('rel')
    assert 'show' not in seg.default_hooks.visualization
    with pytest.raises(RuntimeError, match='use one of the two flags'):
        trigger_visualization_hook(
            Config.fromfile(SEG_CFG), show=True, show_dir='rel', environ=display, backend='TkAgg'
        )
    # a config's own interval is kept
    seg = Config.fromfile(SEG_CFG)
    seg.default_hooks.visualization.interval = 7
    assert trigger_visualization_hook(seg, show_dir='x').default_hooks.visualization.interval == 7
    # mmdet's hook writes DIR/<image name> itself: absolute test_out_dir
    det = trigger_visualization_hook(
        Config.fromfile(DET_CFG),
        show=True,
        show_dir=str(tmp_path / 'det'),
        environ=display,
        backend='TkAgg',
    )
    hook = det.default_hooks.visualization
    assert hook.type == 'DetVisualizationHook'
    assert (hook.draw, hook.show, hook.test_out_dir) == (True, True, str(tmp_path / 'det'))
    # no flag: nothing changes
    untouched = trigger_visualization_hook(Config.fromfile(DET_CFG))
    assert 'draw' not in untouched.default_hooks.visualization
    no_hook = Config.fromfile(SEG_CFG)
    del no_hook.default_hooks['visualization']
    with pytest.raises(RuntimeError, match='need a visualization hook'):
        trigger_visualization_hook(no_hook, show_dir='x')
