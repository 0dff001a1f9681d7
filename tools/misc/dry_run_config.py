"""The dry run's config edits (``tools/misc/dry_run.py``): fake data, small sizes, 2 iterations.

:func:`point_and_write` points the datasets (through their wrappers) at fake data;
:func:`shrink` keeps the config's model, losses, samplers, hooks and metrics, and changes only
what makes it large or slow: input sizes, batch sizes, workers, the length of training,
pre-trained weights (there is no download), and validation/checkpoint intervals.
"""

from typing import Any, List, Optional

from tools.misc import fake_datasets

# transforms, batch augments and data preprocessors whose spatial arguments are shrunk
SPATIAL_TYPES = {
    'Resize',
    'RandomResize',
    'RandomChoiceResize',
    'RandomCrop',
    'RandomResizedCrop',
    'ResizeEdge',
    'CenterCrop',
    'FixShapeResize',
    'Pad',
    'BatchSyncRandomResize',
    'BatchFixedSizePad',
    'SegDataPreProcessor',
}
SPATIAL_KEYS = ('scale', 'img_scale', 'crop_size', 'size', 'random_size_range', 'scales')
STANDARD_LOOPS = {'EpochBasedTrainLoop', 'IterBasedTrainLoop'}
TRAIN_ITERS = 2
MAX_BATCH = 2


def point_and_write(ds: dict, fake_root: str, role: str, rng, hint: Optional[dict] = None) -> str:
    """Point a dataset config (recursively through wrappers) at ``fake_root`` and write the
    fake files of its leaves (:func:`fake_datasets.write_leaf`).

    Args:
        ds (dict): A dataset config, edited in place (``RepeatDataset.times`` becomes 1).
        fake_root (str): The fresh directory the real paths are mirrored under.
        role (str): ``'train'`` (4 images) or ``'val'``/``'test'`` (2 images).
        rng (np.random.Generator): Pixel and label randomness.
        hint (dict, optional): The enclosing wrapper's settings (``imbalance_ratio``).

    Returns:
        str: What was built, e.g. ``ConcatDataset[PascalVOCDataset(...), ...]``.
    """
    if 'dataset' not in ds and 'datasets' not in ds:
        return fake_datasets.write_leaf(ds, fake_root, 4 if role == 'train' else 2, rng, hint)
    if 'times' in ds:
        ds['times'] = 1
    subs = [ds['dataset']] if 'dataset' in ds else list(ds['datasets'])
    inner = ', '.join(point_and_write(d, fake_root, role, rng, dict(ds)) for d in subs)
    return f'{ds["type"]}[{inner}]'


def shrink_px(value: Any) -> Any:
    """Shrink a size (int, or nested tuples/lists of ints) about 8x, to multiples of 32.

    Sizes <= 64 px (CIFAR, MNIST) are kept; larger ones become ``max(32, 32 * round(v /
    256))``: 512 -> 64, 1024 -> 128, 2048 -> 256, 416 -> 64, 1333 -> 160, 224 -> 32.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if value <= 64 else max(32, 32 * round(value / 256))
    if isinstance(value, (list, tuple)):
        return type(value)(shrink_px(v) for v in value)
    return value


def _walk(node: Any, fn) -> None:
    """Call ``fn`` on every dict of a config tree (depth first)."""
    if isinstance(node, dict):
        fn(node)
        for v in node.values():
            _walk(v, fn)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _walk(v, fn)


def _shrink_sizes(node: dict) -> None:
    type_name = str(node.get('type', '')).split('.')[-1]
    if type_name in SPATIAL_TYPES or node.get('mode') == 'slide':
        for key in SPATIAL_KEYS + (('stride',) if node.get('mode') == 'slide' else ()):
            if key in node:
                node[key] = shrink_px(node[key])


def _no_pretrained(node: dict, dropped: set) -> None:
    if node.get('pretrained') is not None:
        node['pretrained'] = None
        dropped.add('pretrained')
    init = node.get('init_cfg')
    if isinstance(init, dict) and init.get('type') == 'Pretrained':
        node['init_cfg'] = None
        dropped.add('init_cfg Pretrained')
    elif isinstance(init, list):
        kept = [i for i in init if not (isinstance(i, dict) and i.get('type') == 'Pretrained')]
        if len(kept) != len(init):
            node['init_cfg'] = kept or None
            dropped.add('init_cfg Pretrained')


def _cpu_focal(node: dict) -> None:
    """mmseg's ``FocalLoss(use_sigmoid=True)`` -> ``mmext.SegFocalLoss`` (same maths): its
    non-CUDA branch fails in mmseg 1.2.2 (see :mod:`mmext.models.losses.seg_focal_loss`)."""
    loss = node.get('loss_decode')
    if isinstance(loss, dict) and loss.get('type') in ('FocalLoss', 'mmseg.FocalLoss'):
        keep = ('gamma', 'alpha', 'reduction', 'class_weight', 'loss_weight', 'loss_name')
        node['loss_decode'] = dict(
            type='mmext.SegFocalLoss', **{k: loss[k] for k in keep if k in loss}
        )


def shrink(cfg) -> List[str]:
    """Make ``cfg`` a 2-iteration CPU run on small inputs (edited in place).

    Args:
        cfg (mmengine.Config): The config, its datasets already pointed at fake data.

    Returns:
        List[str]: What was changed that a reader of the table should know.
    """
    notes = []
    sizes_before = repr(cfg.get('train_dataloader', {}).get('dataset', {}))
    _walk(cfg._cfg_dict, _shrink_sizes)  # pipelines (any wrapper or hook), preprocessors
    for key in ('tta_model', 'tta_pipeline'):
        cfg.pop(key, None)
    if repr(cfg.get('train_dataloader', {}).get('dataset', {})) != sizes_before:
        notes.append('image sizes about 8x smaller (pipelines, crops, data preprocessor)')
    batches = []
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        if 'batch_cl' in (loader.get('batch_sampler') or {}):
            notes.append(f'batch size {loader.batch_size} kept (batch_max of the batch sampler)')
        elif loader.get('batch_size', 1) > MAX_BATCH:
            batches.append(f'{key.split("_")[0]} {loader.batch_size}')
            loader.batch_size = MAX_BATCH
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.pop('prefetch_factor', None)
    if batches:
        notes.append(f'batch size {", ".join(batches)} -> {MAX_BATCH}')
    dropped = {'load_from'} if cfg.get('load_from') else set()
    _walk(cfg.model, lambda node: _no_pretrained(node, dropped))
    cfg.load_from = None
    cfg.resume = False
    if dropped:
        notes.append(f'random init: dropped {", ".join(sorted(dropped))} (nothing downloaded)')
    if cfg.get('default_scope') == 'mmseg' and 'FocalLoss' in repr(cfg.model):
        import torch

        if not torch.cuda.is_available():
            _walk(cfg.model, _cpu_focal)
            notes.append("mmseg FocalLoss -> mmext.SegFocalLoss (mmseg's has no CPU path)")
    loop = dict(cfg.get('train_cfg') or {})
    length = loop.get('max_iters') or f'{loop.get("max_epochs")} epochs'
    if loop.get('type', 'EpochBasedTrainLoop' if loop.get('by_epoch') else None) in (
        STANDARD_LOOPS | {None}
    ):
        cfg.train_cfg = dict(
            type='IterBasedTrainLoop', max_iters=TRAIN_ITERS, val_interval=TRAIN_ITERS
        )
    else:  # a custom loop: keep it, shorten it
        loop.update({'max_iters' if 'max_iters' in loop else 'max_epochs': TRAIN_ITERS})
        cfg.train_cfg = loop
    notes.append(f'training {length} -> {TRAIN_ITERS} iterations (iteration-based loop)')
    hooks = cfg.setdefault('default_hooks', {})
    if hooks.get('checkpoint'):
        hooks.checkpoint.update(interval=TRAIN_ITERS, by_epoch=False, max_keep_ckpts=1)
        hooks.checkpoint.pop('save_best', None)
    if hooks.get('logger'):
        hooks.logger.interval = 1
    cfg.setdefault('log_processor', {})['by_epoch'] = False
    if cfg.get('auto_scale_lr'):
        cfg.auto_scale_lr.enable = False
    return notes
