"""Training steps without host synchronisation (issue 30, item 3).

Every mmext loss and head runs its default training path (forward + backward, valid inputs)
under :class:`tests.sync_counter.SyncCounter`, which records the ATen ops that make the host
wait for a GPU (``.item()``/``.tolist()``/``bool(t)``, ``nonzero``, ``unique``,
``bincount``, boolean-mask indexing, ...). The tests run on CPU tensors; the ops a CUDA run
dispatches are the same, with one exception handled explicitly: the label-range checks
(:func:`mmext.models.losses.utils.check_class_labels`, the instance-weight check) are eager
``ValueError`` checks on CPU by design and device-side asserts on CUDA, and a few other
places read values only from host tensors (``mmext.models.losses.utils.checked_on_host``).
:func:`tests.sync_counter.device_side_checks` makes them all take the CUDA branch
(``torch._assert_async``, no read-back) for these tests, so the count is the one of a CUDA
step. The CPU branches themselves are tested by the tests of each loss and layer.

Upstream code that the mmext heads call and that syncs by itself (mmdet's assigners and
samplers use ``nonzero``; ``BBoxHead.loss`` indexes positives with a boolean mask) is run
with the counter paused (:meth:`SyncCounter.pause`), and the backward pass of the heads
covers the mmext losses, so what is counted is mmext's own code.
"""

import copy
from unittest import mock

import pytest
import torch
from mmengine.registry import init_default_scope

import mmext  # noqa: F401  (registration)
from mmext.registry import MODELS
from tests.sync_counter import SyncCounter, device_side_checks


def _seg(num_classes=5, n=2, h=6, w=7, seed=0):
    """Logits (n, C, h, w) with grad and labels with a few ignored (255) pixels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, num_classes, h, w, generator=g, requires_grad=True)
    label = torch.randint(0, num_classes, (n, h, w), generator=g)
    label[0, 0, :3] = 255
    return x, label


def _step(loss_fn, x, *args, **kwargs):
    """Forward + backward of ``loss_fn`` under a counter; returns the counter.

    One untimed forward first: per-class constants (``class_weight``, ``alpha``) are copied to
    the device once (:func:`mmext.models.losses.utils.constant_tensor`); what is counted is
    the steady-state step.
    """
    with device_side_checks():
        loss_fn(x.detach(), *args, **kwargs)
    with device_side_checks(), SyncCounter() as counter:
        loss = loss_fn(x, *args, **kwargs)
        loss.sum().backward()
    return counter


def _loss(cfg):
    return MODELS.build(cfg)


def _seg_step(cfg, **call):
    x, label = _seg()
    return _step(_loss(cfg), x, label, ignore_index=255, **call)


def _weighted_seg_step(cfg):
    x, label = _seg()
    weight = torch.rand(label.shape, generator=torch.Generator().manual_seed(3))
    return _step(_loss(cfg), x, label, weight=weight, ignore_index=255)


def _ls_softmax_step():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(9, 5, generator=g, requires_grad=True)  # 4 classes + background
    label = torch.tensor([0, 4, 1, 4, 2, 3, 4, 0, 1])
    return _step(_loss(dict(type='mmext.LabelSmoothCrossEntropyLoss')), x, label)


def _ls_class_weight_step(use_sigmoid):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(9, 5, generator=g, requires_grad=True)
    label = torch.tensor([0, 4, 1, 4, 2, 3, 4, 0, 1])
    cfg = dict(
        type='mmext.LabelSmoothCrossEntropyLoss',
        use_sigmoid=use_sigmoid,
        class_weight=CLASS_WEIGHT,
        avg_non_ignore=True,
    )
    return _step(_loss(cfg), x, label)


def _ls_sigmoid_int_step():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(9, 4, generator=g, requires_grad=True)
    label = torch.tensor([0, 4, 1, 4, 2, 3, 4, 0, 1])  # 4 = background (mmdet)
    cfg = dict(type='mmext.LabelSmoothCrossEntropyLoss', use_sigmoid=True)
    return _step(_loss(cfg), x, label)


def _ls_sigmoid_float_step():
    """YOLOv3's call: float one-hot targets with a per-anchor weight."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, 4, generator=g, requires_grad=True)
    target = torch.zeros(2, 6, 4)
    target[0, 1, 2] = target[1, 3, 0] = 1.0
    weight = torch.rand(2, 6, 1, generator=g)
    cfg = dict(type='mmext.LabelSmoothCrossEntropyLoss', use_sigmoid=True)
    return _step(_loss(cfg), x, target, weight=weight)


def _distances(k=6, n=8, seed=2):
    g = torch.Generator().manual_seed(seed)
    d = (torch.randn(n, k, generator=g) ** 2 + 0.5).requires_grad_()
    return d, torch.randint(0, k, (n,), generator=g)


def _icu_loss_step():
    d, label = _distances()
    return _step(_loss(dict(type='mmext.ICULoss')), d, label, num_dims=3)


def _lgm_loss_step():
    d, label = _distances()
    log_dets = torch.linspace(-1.0, 1.0, 6, requires_grad=True)
    return _step(_loss(dict(type='mmext.LGMLoss')), d, label, log_dets=log_dets)


def _icu_cls_head_step(**kwargs):
    from mmpretrain.structures import DataSample

    init_default_scope('mmpretrain')
    head = MODELS.build(dict(type='mmext.ICUClsHead', num_classes=5, in_channels=3, **kwargs))
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(4), requires_grad=True)
    samples = [DataSample().set_gt_label(z) for z in (0, 2, 2, 4, 1, 0, 2, 3)]
    with device_side_checks(), SyncCounter() as counter:
        losses = head.loss((x,), samples)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    return counter


ICU_BBOX_HEAD = dict(
    type='mmext.ICUBBoxHead',
    in_channels=4,
    roi_feat_size=2,
    fc_out_channels=6,
    num_classes=3,
    reg_class_agnostic=False,
)


def _icu_bbox_head_step(**kwargs):
    """The mmext part of ``ICUBBoxHead.loss``; the upstream box regression loss is paused
    (``BBoxHead.loss`` indexes positives with a boolean mask, forward and backward), so the
    backward pass runs the mmext losses ``loss_cls`` + ``loss_icu_reg``."""
    from mmdet.models.roi_heads.bbox_heads import BBoxHead

    init_default_scope('mmdet')
    head = MODELS.build(dict(ICU_BBOX_HEAD, **kwargs)).train()
    g = torch.Generator().manual_seed(5)
    feats = torch.randn(7, 4, 2, 2, generator=g)
    labels = torch.tensor([0, 3, 1, 3, 2, 3, 1])  # 3 = background
    label_weights = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0])
    rois = torch.cat([torch.zeros(7, 1), torch.rand(7, 4, generator=g) * 20], 1)
    bbox_targets, bbox_weights = torch.randn(7, 4, generator=g), torch.ones(7, 4)
    with device_side_checks(), SyncCounter() as counter:
        with mock.patch.object(BBoxHead, 'loss', counter.pause(BBoxHead.loss)):
            cls_score, bbox_pred = head(feats)
            losses = head.loss(
                cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights
            )
        (losses['loss_cls'] + losses['loss_icu_reg']).backward()
    return counter


def _yolo_head_step():
    """``WeightedYOLOV3Head.loss_by_feat`` with mmdet's anchor generator, responsible flags,
    assigner, sampler and box coder paused: what is counted is mmext's target and weight
    maps, its weighted per-level losses and their backward pass."""
    from mmext.models.heads.weighted_yolov3_head import WeightedYOLOV3Head
    from tests.models.heads.test_weighted_yolov3_head import _gts, _head_cfg, _inputs

    init_default_scope('mmdet')
    torch.manual_seed(0)
    head = WeightedYOLOV3Head(**_head_cfg())
    pred_maps, metas = _inputs()
    pred_maps = [p.requires_grad_() for p in pred_maps]
    gts = [_gts([0.3, 1.0, 0.6]), _gts([1.0, 0.5, 0.2])]
    with device_side_checks(), SyncCounter() as counter:
        for obj, name in (
            (head.prior_generator, 'grid_priors'),
            (head, 'responsible_flags'),
            (head.assigner, 'assign'),
            (head.sampler, 'sample'),
            (head.bbox_coder, 'encode'),
        ):
            setattr(obj, name, counter.pause(getattr(obj, name)))
        losses = head.loss_by_feat(pred_maps, gts, metas)
        sum(sum(v) for v in losses.values()).backward()
    return counter


def _roi_head_step():
    """``WeightedStandardRoIHead.loss`` with mmdet's assigner, sampler, RoI extractor +
    bbox head forward, ``get_targets`` and ``BBoxHead.loss`` paused: what is counted is
    mmext's weight reading (``get_gt_weights``) and per-RoI weights (``sample_weights``)."""
    from mmext.models.heads.weighted_roi_head import WeightedStandardRoIHead
    from tests.models.heads.test_weighted_roi_head import _cfg, _inputs, _samples

    init_default_scope('mmdet')
    torch.manual_seed(0)
    head = WeightedStandardRoIHead(**_cfg())
    x, proposals = _inputs()
    samples = _samples(([0.3, 1.0, 0.6], [1.0, 0.5, 0.2]))
    with device_side_checks(), SyncCounter() as counter:
        for obj, name in (
            (head.bbox_assigner, 'assign'),
            (head.bbox_sampler, 'sample'),
            (head, '_bbox_forward'),
            (head.bbox_head, 'get_targets'),
            (head.bbox_head, 'loss'),
        ):
            setattr(obj, name, counter.pause(getattr(obj, name)))
        head.loss(x, copy.deepcopy(proposals), samples)
    return counter


SEG_FOCAL = dict(type='mmext.SegFocalLoss', alpha=[0.1, 0.2, 0.3, 0.25, 0.15])
CLASS_WEIGHT = [0.5, 1.0, 2.0, 1.5, 0.7]
STEPS = {
    'TiltedCrossEntropyLoss-image': lambda: _seg_step(dict(type='mmext.TiltedCrossEntropyLoss')),
    'TiltedCrossEntropyLoss-class': lambda: _seg_step(
        dict(type='mmext.TiltedCrossEntropyLoss', level='class')
    ),
    'ClassTrackedCrossEntropyLoss': lambda: _seg_step(
        dict(type='mmext.ClassTrackedCrossEntropyLoss')
    ),
    # mmseg's CE reads the non-ignored count back here (.item()); the tracked CE does not
    'ClassTrackedCrossEntropyLoss-avg_non_ignore': lambda: _seg_step(
        dict(type='mmext.ClassTrackedCrossEntropyLoss', avg_non_ignore=True)
    ),
    'ClassTrackedCrossEntropyLoss-class_weight-weighted': lambda: _weighted_seg_step(
        dict(
            type='mmext.ClassTrackedCrossEntropyLoss',
            class_weight=CLASS_WEIGHT,
            avg_non_ignore=True,
        )
    ),
    'SoftDiceLoss': lambda: _seg_step(dict(type='mmext.SoftDiceLoss')),
    'SoftIoULoss': lambda: _seg_step(dict(type='mmext.SoftIoULoss')),
    'SoftDiceLoss-per_image-weighted': lambda: _weighted_seg_step(
        dict(type='mmext.SoftDiceLoss', per_image=True)
    ),
    'SoftIoULoss-weighted': lambda: _weighted_seg_step(dict(type='mmext.SoftIoULoss')),
    'TiltedCrossEntropyLoss-class_weight': lambda: _seg_step(
        dict(type='mmext.TiltedCrossEntropyLoss', class_weight=CLASS_WEIGHT), avg_factor=3.0
    ),
    'SoftDiceLoss-class_weight': lambda: _seg_step(
        dict(type='mmext.SoftDiceLoss', class_weight=CLASS_WEIGHT)
    ),
    'SegFocalLoss': lambda: _seg_step(SEG_FOCAL),
    'SegFocalLoss-class_weight': lambda: _weighted_seg_step(
        dict(SEG_FOCAL, class_weight=CLASS_WEIGHT, alpha=0.25)
    ),
    'LabelSmoothCrossEntropyLoss-softmax': _ls_softmax_step,
    'LabelSmoothCrossEntropyLoss-sigmoid-int': _ls_sigmoid_int_step,
    'LabelSmoothCrossEntropyLoss-sigmoid-float': _ls_sigmoid_float_step,
    'LabelSmoothCrossEntropyLoss-class_weight': lambda: _ls_class_weight_step(False),
    'LabelSmoothCrossEntropyLoss-sigmoid-class_weight': lambda: _ls_class_weight_step(True),
    'ICULoss': _icu_loss_step,
    'LGMLoss': _lgm_loss_step,
    'ICUClsHead': _icu_cls_head_step,
    'ICUClsHead-lgm': lambda: _icu_cls_head_step(mode='lgm', gamma=0.0),
    'ICUBBoxHead': _icu_bbox_head_step,
    'ICUBBoxHead-foreground-reg': lambda: _icu_bbox_head_step(regularize_background=False),
    'WeightedYOLOV3Head': _yolo_head_step,
    'WeightedStandardRoIHead': _roi_head_step,
}


@pytest.mark.parametrize('name', list(STEPS))
def test_training_step_does_not_sync(name):
    counter = STEPS[name]()
    assert counter.ops, 'nothing was recorded'
    assert counter.syncs == [], f'{name}: host syncs {counter.syncs}'


def test_every_mmext_loss_is_covered():
    losses = {name for name, cls in MODELS.module_dict.items() if name.endswith('Loss')}
    assert losses <= {name.split('-')[0] for name in STEPS}


@pytest.mark.parametrize('name', ['SoftDiceLoss', 'SoftIoULoss'])
@pytest.mark.parametrize('per_image', [False, True])
def test_soft_overlap_ops_do_not_grow_with_classes(name, per_image):
    """The ratio's forward and backward run a fixed number of ops (no loop over classes)."""
    counts = []
    for num_classes in (20, 150):
        x, label = _seg(num_classes=num_classes)
        loss_fn = _loss(dict(type=f'mmext.{name}', per_image=per_image))
        with device_side_checks():
            loss = loss_fn(x, label, ignore_index=255)
            with SyncCounter() as counter:
                loss.backward()
            backward = len(counter.ops)
            with SyncCounter() as counter:
                loss_fn(x, label, weight=torch.rand(label.shape), ignore_index=255)
        counts.append((backward, len(counter.ops)))
    assert counts[0] == counts[1]
    assert counts[0][0] < 60


CUDA_LOSSES = [
    dict(type='mmext.TiltedCrossEntropyLoss'),
    dict(type='mmext.TiltedCrossEntropyLoss', level='class', class_weight=CLASS_WEIGHT),
    dict(type='mmext.SoftDiceLoss'),
    dict(type='mmext.SoftIoULoss', per_image=True),
    SEG_FOCAL,
    dict(type='mmext.LabelSmoothCrossEntropyLoss', class_weight=CLASS_WEIGHT),
]


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('cfg', CUDA_LOSSES, ids=lambda cfg: cfg['type'])
def test_cuda_training_step_does_not_synchronise(cfg):
    """On a GPU: any host synchronisation of a steady-state step raises
    (``torch.cuda.set_sync_debug_mode('error')``); SegFocalLoss takes mmcv's fused op when
    mmcv has CUDA ops."""
    x, label = _seg()
    x = x.detach().cuda().requires_grad_()
    label = label.cuda()
    if cfg['type'] == 'mmext.LabelSmoothCrossEntropyLoss':
        label[label == 255] = 0
    loss_fn = _loss(cfg)
    loss_fn(x, label, ignore_index=255).sum().backward()  # constants copied once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        loss_fn(x, label, ignore_index=255).sum().backward()
    finally:
        torch.cuda.set_sync_debug_mode('default')
    torch.cuda.synchronize()


def test_the_counter_sees_host_syncs_and_only_them():
    """The helper counts the ops that sync on CUDA, and not their sync-free neighbours."""
    x = torch.tensor([0.5, -1.0, 2.0])
    idx = torch.tensor([0, 2])
    syncing = {
        'item': lambda: x.sum().item(),
        'tolist': lambda: x.tolist(),
        'cpu': lambda: x.cpu(),
        "to('cpu')": lambda: x.to('cpu'),
        'numpy': lambda: x.numpy(),
        'bool': lambda: bool(x.sum() > 0),
        'nonzero': lambda: torch.nonzero(x),
        'mask index': lambda: x[x > 0],
        'mask assign': lambda: x.clone().__setitem__(x > 0, 0.0),
        'masked_select': lambda: torch.masked_select(x, x > 0),
        'unique': lambda: torch.unique(idx),
        'bincount': lambda: torch.bincount(idx, minlength=5),
        'repeat_interleave': lambda: torch.repeat_interleave(idx),
        'equal': lambda: torch.equal(x, x),
        'allclose': lambda: torch.allclose(x, x),
        'new_tensor': lambda: x.new_tensor([1.0, 2.0]),
        'tensor + repeat': lambda: torch.tensor(3).repeat(2),
    }
    free = {
        'long index': lambda: x[idx],
        'index_select': lambda: x.index_select(0, idx),
        'scalar assign': lambda: x.clone().__setitem__(idx, 1.0),
        'slice assign': lambda: x.clone().__setitem__(slice(0, 2), 1.0),
        'where scalar': lambda: torch.where(x > 0, x, 0.0),
        'repeat_interleave output_size': lambda: torch.repeat_interleave(idx, output_size=2),
        'sort + cumsum': lambda: torch.cumsum(torch.sort(x).values, 0),
        'new_full': lambda: x.new_full((2,), 3.0),
        'to(other.device)': lambda: idx.to(x.device),
        'assert_async': lambda: torch._assert_async(x.sum() > 0),
    }
    for name, fn in syncing.items():
        with SyncCounter() as counter:
            fn()
        assert counter.syncs, name
    for name, fn in free.items():
        with SyncCounter() as counter:
            fn()
        assert counter.syncs == [], (name, counter.syncs)
