"""Tests of mmext.WeightedYOLOV3Head against mmdet's YOLOV3Head."""

import copy

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import YOLOV3Head
from mmdet.structures import DetDataSample
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmext.models.heads.weighted_yolov3_head import WeightedYOLOV3Head
from mmext.registry import MODELS

NUM_CLASSES = 4
IMG = 64


def _head_cfg(reduction='sum', one_level=False):
    losses = {}
    for name in ('loss_cls', 'loss_conf', 'loss_xy'):
        losses[name] = dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0, reduction=reduction
        )
    losses['loss_wh'] = dict(type='MSELoss', loss_weight=1.0, reduction=reduction)
    cfg = dict(
        num_classes=NUM_CLASSES,
        in_channels=[8, 8, 8],
        out_channels=[8, 8, 8],
        train_cfg=dict(
            assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0)
        ),
        **losses,
    )
    if one_level:
        cfg.update(
            in_channels=[4],
            out_channels=[4],
            featmap_strides=[8],
            anchor_generator=dict(
                type='YOLOAnchorGenerator', base_sizes=[[(10, 13), (16, 30), (33, 23)]], strides=[8]
            ),
        )
    return cfg


def _heads(reduction='sum', **kwargs):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    ours = WeightedYOLOV3Head(**_head_cfg(), **kwargs)
    ref = YOLOV3Head(**_head_cfg(reduction))
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _gts(weights=None):
    # distinct labels so that the test can recover which object an anchor is assigned to
    gt = InstanceData(
        bboxes=torch.tensor(
            [[2.0, 3.0, 30.0, 40.0], [20.0, 10.0, 60.0, 50.0], [40.0, 40.0, 52.0, 60.0]]
        ),
        labels=torch.tensor([0, 2, 3]),
    )
    if weights is not None:
        gt.weights = torch.tensor(weights)
    return gt


def _inputs(seed=1, num_imgs=2):
    g = torch.Generator().manual_seed(seed)
    pred_maps = [
        torch.randn(num_imgs, 3 * (5 + NUM_CLASSES), IMG // s, IMG // s, generator=g)
        for s in (32, 16, 8)
    ]
    metas = [dict(img_shape=(IMG, IMG), batch_input_shape=(IMG, IMG))] * num_imgs
    return pred_maps, metas


def _total(losses):
    return {k: sum(v.sum() for v in vals) for k, vals in losses.items()}


@pytest.mark.parametrize('weights', [None, [1.0, 1.0, 1.0]])
def test_equals_upstream_without_weights(weights):
    ours, ref = _heads()
    pred_maps, metas = _inputs()
    gts = [_gts(weights), _gts(weights)]
    got = ours.loss_by_feat(pred_maps, gts, metas)
    exp = ref.loss_by_feat(pred_maps, [_gts(), _gts()], metas)
    for key in exp:
        for g, e in zip(got[key], exp[key]):
            assert torch.equal(g, e), key


def _expected(ref, pred_maps, metas, weights, soft_target=False):
    """Expected weighted losses from the upstream head's unreduced losses and its targets."""
    gts = [_gts(), _gts()]
    unreduced = ref.loss_by_feat(pred_maps, gts, metas)
    featmap_sizes = [p.shape[-2:] for p in pred_maps]
    anchors = ref.prior_generator.grid_priors(featmap_sizes, device='cpu')
    flags = [ref.responsible_flags(featmap_sizes, gt.bboxes, 'cpu') for gt in gts]
    target_maps, neg_maps = ref.get_targets([anchors] * 2, flags, gts)
    exp = dict(loss_cls=0.0, loss_conf=0.0, loss_xy=0.0, loss_wh=0.0)
    weights = torch.tensor(weights)
    for lvl, (tmap, nmap) in enumerate(zip(target_maps, neg_maps)):
        pos = tmap[..., 4] > 0
        # object of each positive anchor = its one-hot label (labels are distinct)
        gt_index = {0: 0, 2: 1, 3: 2}
        anchor_w = torch.ones_like(tmap[..., 4])
        for label, j in gt_index.items():
            anchor_w[pos & (tmap[..., 5:].argmax(-1) == label)] = weights[j]
        for key in ('loss_cls', 'loss_xy', 'loss_wh'):
            exp[key] += (unreduced[key][lvl] * anchor_w[..., None]).sum()
        conf = unreduced['loss_conf'][lvl]
        if soft_target:
            pred = pred_maps[lvl].permute(0, 2, 3, 1).reshape(2, -1, 5 + NUM_CLASSES)[..., 4]
            soft = F.binary_cross_entropy_with_logits(pred, anchor_w, reduction='none')
            exp['loss_conf'] += conf[~pos].sum() + soft[pos].sum()
        else:
            exp['loss_conf'] += (conf * anchor_w).sum()
    return exp


@pytest.mark.parametrize('weights', [[0.4, 0.4, 0.4], [0.2, 0.9, 0.55]])
@pytest.mark.parametrize('conf_mode', ['weight', 'target'])
def test_weighted_losses_follow_the_formula(weights, conf_mode):
    ours, ref = _heads(reduction='none', conf_mode=conf_mode)
    pred_maps, metas = _inputs()
    got = _total(ours.loss_by_feat(pred_maps, [_gts(weights), _gts(weights)], metas))
    exp = _expected(ref, pred_maps, metas, weights, soft_target=conf_mode == 'target')
    for key in exp:
        torch.testing.assert_close(got[key], exp[key], rtol=1e-5, atol=1e-6)
    # the weights actually change something
    base = _total(ours.loss_by_feat(pred_maps, [_gts(), _gts()], metas))
    assert got['loss_cls'] < base['loss_cls']


def test_loss_from_data_samples_and_backward():
    ours, _ = _heads()
    torch.manual_seed(3)
    feats = [torch.randn(2, 8, IMG // s, IMG // s, requires_grad=True) for s in (32, 16, 8)]
    samples = []
    for w in ([0.3, 0.3, 0.7], [1.0, 1.0, 1.0]):
        sample = DetDataSample(metainfo=dict(img_shape=(IMG, IMG), batch_input_shape=(IMG, IMG)))
        sample.gt_instances = _gts(w)
        samples.append(sample)
    losses = ours.loss(feats, samples)
    total = sum(sum(v) for v in losses.values())
    total.backward()
    assert all(torch.isfinite(f.grad).all() for f in feats)


def test_gradcheck_float64():
    """float64 gradcheck (mmdet's CrossEntropyLoss computes in float32, so the sigmoid losses
    are mmext's LabelSmoothCrossEntropyLoss with smoothing 0, mmdet-identical, in float64)."""
    init_default_scope('mmdet')
    cfg = _head_cfg(one_level=True)
    for name in ('loss_cls', 'loss_conf', 'loss_xy'):
        cfg[name] = dict(
            type='mmext.LabelSmoothCrossEntropyLoss',
            label_smooth_val=0.0,
            use_sigmoid=True,
            reduction='sum',
        )
    head = WeightedYOLOV3Head(**cfg).double()
    grid_priors = head.prior_generator.grid_priors
    head.prior_generator.grid_priors = lambda sizes, device: grid_priors(
        sizes, dtype=torch.float64, device=device
    )  # float64 anchors -> float64 targets
    gt = InstanceData(
        bboxes=torch.tensor([[1.0, 2.0, 12.0, 14.0]], dtype=torch.float64),
        labels=torch.tensor([1]),
        weights=torch.tensor([0.35], dtype=torch.float64),
    )
    torch.manual_seed(0)
    pred = torch.randn(1, 3 * (5 + NUM_CLASSES), 2, 2, dtype=torch.float64, requires_grad=True)
    metas = [dict(img_shape=(16, 16))]

    def total(p):
        losses = head.loss_by_feat([p], [gt], metas)
        return sum(v[0] for v in losses.values())

    assert total(pred).dtype == torch.float64
    assert torch.autograd.gradcheck(total, (pred,))


def test_gradients_scaled_by_object_weight():
    """With mmdet's losses: d loss / d pred of a positive anchor is w times the unweighted one
    for cls / xy / wh and (conf_mode='weight') conf; other anchors are unchanged."""
    ours, _ = _heads()
    pred_maps, metas = _inputs(num_imgs=1)
    grads = []
    for weights in (None, [0.25, 0.25, 0.25]):
        maps = [p.clone().requires_grad_() for p in pred_maps]
        losses = ours.loss_by_feat(maps, [_gts(weights)], metas)
        sum(sum(v) for v in losses.values()).backward()
        grads.append(torch.cat([m.grad.flatten() for m in maps]))
    changed = ~torch.isclose(grads[0], grads[1])
    assert changed.any()
    torch.testing.assert_close(grads[1][changed], 0.25 * grads[0][changed])


def test_empty_gts_and_bad_weights():
    ours, ref = _heads()
    pred_maps, metas = _inputs(num_imgs=1)
    empty = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long), weights=torch.zeros(0)
    )
    got = ours.loss_by_feat(pred_maps, [empty], metas)
    exp = ref.loss_by_feat(
        pred_maps,
        [InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))],
        metas,
    )
    for key in exp:
        torch.testing.assert_close(sum(got[key]), sum(exp[key]))
    with pytest.raises(ValueError, match='>= 0'):
        ours.loss_by_feat(pred_maps, [_gts([0.5, -0.1, 1.0])], metas)
    with pytest.raises(ValueError, match='shape'):
        ours.loss_by_feat(pred_maps, [_gts([[0.5], [1.0], [1.0]])], metas)
    with pytest.raises(ValueError, match='conf_mode'):
        WeightedYOLOV3Head(**_head_cfg(), conf_mode='soft')
    # the class one-hot checks the labels (ValueError on CPU, device-side assert on CUDA)
    bad_label = _gts()
    bad_label.labels = torch.tensor([0, 4, 3])
    with pytest.raises(ValueError, match=r'gt_instances.labels must lie in \[0, 4\)'):
        ours.loss_by_feat(pred_maps, [bad_label], metas)


def test_registry():
    init_default_scope('mmdet')
    cfg = dict(type='mmext.WeightedYOLOV3Head', **copy.deepcopy(_head_cfg()))
    assert isinstance(MODELS.build(cfg), WeightedYOLOV3Head)


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
@pytest.mark.parametrize('conf_mode', ['weight', 'target'])
@pytest.mark.parametrize('attrib, key', [(5 + 1, 'loss_cls'), (4, 'loss_conf')])
def test_non_finite_logit_gives_non_finite_loss(bad, conf_mode, attrib, key):
    """A NaN / +inf class or objectness logit never gives a finite loss, also where the
    anchor's weight is 0 (ignored / unassigned anchors) or an object weight is fractional."""
    ours, _ = _heads(conf_mode=conf_mode)
    for h, w in ((0, 0), (1, 1)):
        pred_maps, metas = _inputs()
        pred_maps[0][0, attrib, h, w] = bad  # level 0, image 0, anchor 0
        losses = ours.loss_by_feat(pred_maps, [_gts([0.3, 1.0, 0.6]), _gts()], metas)
        assert not torch.isfinite(losses[key][0]), (h, w)
        assert all(torch.isfinite(v[0]) for k, v in losses.items() if k != key)
