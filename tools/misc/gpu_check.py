"""A GPU check ready to run: mmcv's ops, each paper's digits config, full-scale step costs.

    bash tools/gpu_check.sh                    # on a GPU machine (about 10 minutes)
    bash tools/gpu_check.sh --device cpu       # the same steps on the CPU, reduced (see below)

Three parts, each recorded in ``benchmarks/results/gpu_check.{md,json}``:

1. **mmcv ops**: the flavour of the installed mmcv (:mod:`mmext.utils.mmcv_ops`) and one call
   of mmcv's NMS and RoIAlign on the device (what fails with "nms_impl: implementation for
   device cuda:0 not found" when mmcv was built without CUDA ops).
2. **Digits configs**: each paper's digits config trains ``--train-iters`` iterations (100) on
   the device with AMP (the launch path of ``tools/train.py --amp``), with validation off;
   records pass / fail, seconds and the last loss.
3. **Full-scale steps**: each full-scale config's model is built (no pre-trained weights) and
   runs ``--steps`` forward + backward passes on a fake batch of the real input size, beside
   the config it modifies: TCE vs CE DeepLabV3+ R-101 at 512x1024, the ICU head vs the linear
   head on ResNet-101, the weighted vs the plain YOLOv3 head and RoI head. Records the time
   ratio, the peak memory (CUDA) and the host synchronisations per step (CUDA:
   ``torch.cuda.set_sync_debug_mode('warn')`` warnings).

On the CPU (``--device cpu``, or no GPU) parts 2 and 3 run with fewer iterations and steps and
at ``--scale`` of the input size (defaults below), and the output says so: the CPU numbers
check that the script works end to end, they are not GPU timings.
"""

import argparse
import os
import os.path as osp
import runpy
import time
import warnings
from typing import Callable, Dict, List, Optional, Tuple

import torch

if not __package__:  # python tools/misc/gpu_check.py, not -m: tools/_bootstrap.py
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))

from tools import REPO  # noqa: E402

#: digits configs trained in part 2 (one or two per paper)
DIGITS_CONFIGS = (
    'configs/tilted_ce/digits/deeplabv3plus_r18-tiny_tce-cls-t1_1xb8-2k_digits-seg.py',
    'configs/tilted_ce/digits/deeplabv3plus_r18-tiny_stce-t1_1xb8-2k_digits-seg.py',
    'configs/balance_batch/digits/deeplabv3plus_r18-tiny_soft-dice-bb-cl11_1xb8-2k_digits-seg.py',
    'configs/bag_of_freebies/digits/yolov3_r18-tiny_bof-all_1xb8-8e_digits-det.py',
    'configs/bag_of_freebies/digits/faster-rcnn_r18-tiny-fpn_bof-all_1xb8-1k_digits-det.py',
    'configs/icu_loss/digits/icu_lenetpp-2d_1xb32-1k_digits-cls.py',
)

#: (name, mmext config, the config it modifies, kind, input (H, W), batch size)
STEP_PAIRS = (
    (
        'TCE vs CE, DeepLabV3+ R-101',
        'configs/tilted_ce/deeplabv3plus_r101-d8_tce-cls-t1_4xb2-80k_cityscapes-512x1024.py',
        'configs/tilted_ce/deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py',
        'seg',
        (512, 1024),
        2,
    ),
    (
        'ICU vs linear head, ResNet-101',
        'configs/icu_loss/imagenet/icu_resnet101_8xb32-100e_in1k.py',
        'configs/icu_loss/imagenet/softmax_resnet101_8xb32-100e_in1k.py',
        'cls',
        (224, 224),
        32,
    ),
    (
        'weighted vs plain YOLOv3 head, Darknet-53',
        'configs/bag_of_freebies/yolov3_d53_mixup-beta1.5-weighted_8xb8-200e_voc0712.py',
        'configs/bag_of_freebies/yolov3_d53_baseline_8xb8-200e_voc0712.py',
        'det',
        (416, 416),
        8,
    ),
    (
        'weighted vs plain RoI head, Faster R-CNN R-50',
        'configs/bag_of_freebies/faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_voc0712.py',
        'configs/bag_of_freebies/faster-rcnn_r50-fpn_baseline_8xb2-1x_voc0712.py',
        'det',
        (608, 1000),
        2,
    ),
)

#: why a CPU run trains some models without autocast
NO_CPU_AMP = "fp32: mmcv's CPU NMS has no bfloat16 kernel (two-stage detectors)"

#: reduced settings of a CPU run
CPU_DEFAULTS = dict(train_iters=5, steps=2, scale=0.25, max_batch=2)


def pick_device(requested: str) -> str:
    """``'cuda'`` or ``'cpu'`` for ``--device`` (``auto``: CUDA when available).

    Raises:
        RuntimeError: ``--device cuda`` without a usable GPU.
    """
    if requested == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if requested == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda, but torch sees no GPU; use --device cpu')
    return requested


def check_ops(device: str) -> Dict:
    """mmcv's ops flavour, and one NMS + RoIAlign on ``device`` (errors recorded)."""
    from mmext.utils.mmcv_ops import mmcv_ops_flavour, ops_line

    flavour = mmcv_ops_flavour(with_archs=device == 'cuda')
    record = dict(flavour=ops_line(flavour))
    try:
        from mmcv.ops import nms, roi_align

        gen = torch.Generator().manual_seed(0)
        xy = torch.rand(64, 2, generator=gen) * 100
        boxes = torch.cat([xy, xy + 10 + torch.rand(64, 2, generator=gen) * 20], 1).to(device)
        scores = torch.rand(64, generator=gen).to(device)
        _, keep = nms(boxes, scores, 0.5)
        feats = torch.rand(1, 4, 32, 32, generator=gen).to(device)
        rois = torch.tensor([[0, 1.0, 1.0, 20.0, 20.0]], device=device)
        pooled = roi_align(feats, rois, (7, 7), 1.0, 2, 'avg', True)
        record.update(nms=f'ok ({len(keep)} of 64 kept)', roi_align=f'ok {tuple(pooled.shape)}')
    except Exception as exc:  # noqa: BLE001 (recorded: this is what the check looks for)
        record.update(nms=f'FAILED: {type(exc).__name__}: {exc}'[:300], roi_align='not run')
    return record


def amp_on(device: str, model_cfg: Dict) -> bool:
    """Whether to autocast: always on CUDA (float16); on the CPU (bfloat16) except for a model
    with an RPN / RoI head, whose proposals go through mmcv's NMS, which has no CPU bfloat16
    kernel ("expected scalar type Float but found BFloat16")."""
    return device == 'cuda' or not ('roi_head' in model_cfg or 'rpn_head' in model_cfg)


def train_digits(
    config: str, device: str, iters: int, work_root: str, data_cwd: str = REPO
) -> Dict:
    """Train ``config`` ``iters`` iterations with AMP through the tools' launch path.

    The config goes through :func:`mmext.apis.launch.prepare_cfg` (``amp=True``, as
    ``tools/train.py --amp``) and :func:`~mmext.apis.launch.build_runner`; its loop becomes an
    ``IterBasedTrainLoop`` of ``iters`` iterations without validation. Never raises: a failure
    is recorded.

    Args:
        config (str): Config path relative to the repository.
        device (str): ``'cuda'`` or ``'cpu'`` (AMP: float16 on CUDA, bfloat16 on the CPU).
        iters (int): Training iterations.
        work_root (str): Parent of the run's work dir.
        data_cwd (str): Directory the run starts in (the digits data is built under its
            ``data/``). Defaults to the repository root.
    """
    from mmext.apis.launch import build_runner, prepare_cfg

    work_dir = osp.join(work_root, osp.splitext(osp.basename(config))[0])
    here = os.getcwd()
    start = time.perf_counter()
    amp = True
    try:
        os.chdir(data_cwd)
        cfg = prepare_cfg(osp.join(REPO, config), work_dir=work_dir)
        amp = amp_on(device, cfg.model)
        if amp:
            cfg = prepare_cfg(osp.join(REPO, config), work_dir=work_dir, amp=True)
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.default_hooks.checkpoint.update(interval=iters, by_epoch=False)
        cfg.default_hooks.logger.update(interval=max(1, iters // 5))
        cfg.log_level = 'WARNING'
        runner = build_runner(cfg)
        runner.train()
        loss = runner.message_hub.get_scalar('train/loss').current()
        ok, error = True, ''
    except Exception as exc:  # noqa: BLE001 (recorded: this is what the check looks for)
        loss, ok, error = None, False, f'{type(exc).__name__}: {exc}'[:300]
    finally:
        os.chdir(here)
    return dict(
        config=config,
        ok=ok,
        seconds=round(time.perf_counter() - start, 1),
        last_loss=None if loss is None else round(float(loss), 4),
        error=error,
        amp='on' if amp else NO_CPU_AMP,
    )


def _fake_batch(kind: str, size: Tuple[int, int], batch: int, num_classes: int) -> Dict:
    """A batch of random images and ground truth in the host's data-sample types."""
    gen = torch.Generator().manual_seed(0)
    h, w = size
    inputs = [
        torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8) for _ in range(batch)
    ]
    samples = []
    for _ in range(batch):
        meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), scale_factor=(1.0, 1.0))
        if kind == 'seg':
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample

            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(
                data=torch.randint(0, num_classes, (1, h, w), generator=gen)
            )
        elif kind == 'det':
            from mmdet.structures import DetDataSample
            from mmengine.structures import InstanceData

            sample = DetDataSample(metainfo=meta)
            xy = torch.rand(4, 2, generator=gen) * torch.tensor([w / 2, h / 2])
            wh = 16 + torch.rand(4, 2, generator=gen) * torch.tensor([w / 3, h / 3])
            sample.gt_instances = InstanceData(
                bboxes=torch.cat([xy, xy + wh], 1),
                labels=torch.randint(0, num_classes, (4,), generator=gen),
                weights=torch.rand(4, generator=gen) * 0.5 + 0.5,
            )
        else:
            from mmpretrain.structures import DataSample

            sample = DataSample(metainfo=meta).set_gt_label(
                int(torch.randint(0, num_classes, (1,), generator=gen))
            )
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _build_model(config: str, kind: str, device: str) -> Tuple[torch.nn.Module, int, bool]:
    """The config's model, without pre-trained weights, on ``device``; its classes; AMP on."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmext  # noqa: F401

    cfg = Config.fromfile(osp.join(REPO, config))
    scope = {'seg': 'mmseg', 'det': 'mmdet', 'cls': 'mmpretrain'}[kind]
    init_default_scope(scope)
    model_cfg = cfg.model
    for key in ('pretrained', 'init_cfg'):
        model_cfg.pop(key, None)
    if 'backbone' in model_cfg:
        model_cfg.backbone.pop('init_cfg', None)
    from mmengine.registry import MODELS

    model = MODELS.build(model_cfg).to(device)
    model.train()
    heads = [model_cfg.get(k, {}) for k in ('decode_head', 'bbox_head', 'head')]
    roi = model_cfg.get('roi_head', {}).get('bbox_head', {})
    num_classes = next(
        (h['num_classes'] for h in heads + [roi] if isinstance(h, dict) and 'num_classes' in h),
        10,
    )
    return model, int(num_classes), amp_on(device, model_cfg)


def time_steps(
    config: str, kind: str, size: Tuple[int, int], batch: int, steps: int, device: str
) -> Dict:
    """Seconds per forward + backward step, peak memory and syncs per step of one model."""
    model, num_classes, amp = _build_model(config, kind, device)
    data = model.data_preprocessor(_fake_batch(kind, size, batch, num_classes), True)
    sync: Callable[[], None] = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    dtype = torch.float16 if device == 'cuda' else torch.bfloat16

    def step() -> None:
        with torch.autocast(device_type=device, dtype=dtype, enabled=amp):
            losses = model(**data, mode='loss')
        total = sum(v.sum() for k, v in losses.items() if 'loss' in k and torch.is_tensor(v))
        total = total + sum(
            sum(x.sum() for x in v)
            for k, v in losses.items()
            if 'loss' in k and isinstance(v, list)
        )
        total.backward()
        model.zero_grad(set_to_none=True)

    step()  # warm-up (cuDNN autotuning, allocator)
    sync()
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.set_sync_debug_mode('warn')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        seconds = (time.perf_counter() - start) / steps
    syncs = None
    peak = None
    if device == 'cuda':
        torch.cuda.set_sync_debug_mode(0)
        syncs = sum('synchroniz' in str(w.message) for w in caught) / steps
        peak = torch.cuda.max_memory_allocated() / 2**20
    return dict(
        seconds_per_step=seconds,
        peak_mib=peak,
        syncs_per_step=syncs,
        amp='on' if amp else NO_CPU_AMP,
    )


def compare_steps(device: str, steps: int, scale: float, max_batch: Optional[int]) -> List[Dict]:
    """Part 3: every pair of :data:`STEP_PAIRS`, method beside the config it modifies."""
    rows = []
    for name, config, upstream, kind, (h, w), batch in STEP_PAIRS:
        size = (max(32, int(h * scale) // 32 * 32), max(32, int(w * scale) // 32 * 32))
        batch = min(batch, max_batch) if max_batch else batch
        row = dict(name=name, config=config, upstream=upstream, size=size, batch=batch)
        try:
            ours = time_steps(config, kind, size, batch, steps, device)
            base = time_steps(upstream, kind, size, batch, steps, device)
            row.update(
                ours=ours,
                upstream_result=base,
                time_ratio=ours['seconds_per_step'] / base['seconds_per_step'],
            )
        except Exception as exc:  # noqa: BLE001 (recorded per pair)
            row.update(error=f'{type(exc).__name__}: {exc}'[:300])
        rows.append(row)
    return rows


def _fmt(value, spec: str = '.3f') -> str:
    return '-' if value is None else format(value, spec)


def report(result: Dict) -> List[str]:
    """The markdown of ``gpu_check.md``."""
    cpu = result['device'] == 'cpu'
    lines = [
        '# GPU check',
        '',
        f'Command: `{result["command"]}`',
        '',
        f'Device: {result["device_name"]}'
        + (f' (**CPU run**: {result["settings"]}; CPU timings, not GPU ones)' if cpu else ''),
        '',
        '## mmcv ops',
        '',
        f'- {result["ops"]["flavour"]}',
        f'- NMS: {result["ops"]["nms"]}',
        f'- RoIAlign: {result["ops"]["roi_align"]}',
        '',
        f'## Digits configs ({result["train_iters"]} iterations, AMP)',
        '',
        '| config | result | seconds | last loss | autocast |',
        '|---|---|---|---|---|',
    ]
    for row in result['digits']:
        status = 'PASS' if row['ok'] else f'FAIL: {row["error"]}'
        lines.append(
            f'| `{osp.basename(row["config"])}` | {status} | {row["seconds"]} | '
            f'{row["last_loss"] or "-"} | {row.get("amp", "on")} |'
        )
    lines += [
        '',
        f'## Full-scale steps ({result["steps"]} forward + backward, AMP)',
        '',
        '| pair | input | s/step ours | s/step upstream | ratio | peak MiB ours / upstream '
        '| syncs/step ours / upstream |',
        '|---|---|---|---|---|---|---|',
    ]
    for row in result['full_scale']:
        if 'error' in row:
            lines.append(
                f'| {row["name"]} | {row["size"]} x{row["batch"]} | FAILED: '
                f'{row["error"]} | | | | |'
            )
            continue
        o, u = row['ours'], row['upstream_result']
        lines.append(
            f'| {row["name"]} | {row["size"][0]}x{row["size"][1]} x{row["batch"]} | '
            f'{_fmt(o["seconds_per_step"])} | {_fmt(u["seconds_per_step"])} | '
            f'{_fmt(row["time_ratio"], ".2f")}x | {_fmt(o["peak_mib"], ".0f")} / '
            f'{_fmt(u["peak_mib"], ".0f")} | {_fmt(o["syncs_per_step"], ".1f")} / '
            f'{_fmt(u["syncs_per_step"], ".1f")} |'
        )
    lines.append('')
    return lines


def main(argv: Optional[List[str]] = None) -> Dict:
    """Run the check; write ``<out-dir>/gpu_check.{md,json}``; return the record."""
    from benchmarks.timing import command_line, write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', choices=['auto', 'cuda', 'cpu'], default='auto')
    parser.add_argument('--train-iters', type=int, help='digits iterations (100; CPU 5)')
    parser.add_argument('--steps', type=int, help='timed steps per model (20; CPU 2)')
    parser.add_argument('--scale', type=float, help='input size factor (1; CPU 0.25)')
    parser.add_argument('--max-batch', type=int, help='cap on the batch size (CPU 2)')
    parser.add_argument('--parts', default='ops,digits,full', help='comma-separated parts')
    parser.add_argument('--out-dir', default=osp.join(REPO, 'benchmarks', 'results'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'gpu_check'))
    args = parser.parse_args(argv)
    if args.device == 'cpu':  # also on a GPU machine: hide the GPUs before CUDA initialises
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        os.environ['MMEXT_DEVICE'] = 'cpu'
    device = pick_device(args.device)
    defaults = (
        CPU_DEFAULTS
        if device == 'cpu'
        else dict(train_iters=100, steps=20, scale=1.0, max_batch=None)
    )
    train_iters = args.train_iters or defaults['train_iters']
    steps = args.steps or defaults['steps']
    scale = args.scale or defaults['scale']
    max_batch = args.max_batch or defaults['max_batch']
    parts = set(args.parts.split(','))
    result = dict(
        command=command_line(),
        device=device,
        device_name=torch.cuda.get_device_name(0) if device == 'cuda' else 'CPU',
        settings=f'{train_iters} digits iterations, {steps} steps, input x{scale}, '
        f'batch <= {max_batch}',
        train_iters=train_iters,
        steps=steps,
        ops=check_ops(device) if 'ops' in parts else dict(flavour='-', nms='-', roi_align='-'),
        digits=[train_digits(c, device, train_iters, args.work_dir) for c in DIGITS_CONFIGS]
        if 'digits' in parts
        else [],
        full_scale=compare_steps(device, steps, scale, max_batch) if 'full' in parts else [],
    )
    lines = report(result)
    write_results('gpu_check', result, lines, result_dir=args.out_dir)
    print('\n'.join(lines))
    return result


if __name__ == '__main__':
    main()
