"""Tests of mmext.WeightedStandardRoIHead against mmdet's StandardRoIHead."""

import copy

import pytest
import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmext.models.heads.weighted_roi_head import WeightedStandardRoIHead
from mmext.registry import MODELS

NUM_CLASSES = 4
CH = 8


def _cfg(bbox_head=None, num=24):
    return dict(
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=CH,
            featmap_strides=[4],
        ),
        bbox_head=bbox_head
        or dict(
            type='Shared2FCBBoxHead',
            in_channels=CH,
            fc_out_channels=16,
            roi_feat_size=7,
            num_classes=NUM_CLASSES,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0.0, 0.0, 0.0, 0.0],
                target_stds=[0.1, 0.1, 0.2, 0.2],
            ),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        ),
        train_cfg=ConfigDict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1,
            ),
            sampler=dict(
                type='RandomSampler',
                num=num,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True,
            ),
            pos_weight=-1,
            debug=False,
        ),
    )


def _heads():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    ours = WeightedStandardRoIHead(**_cfg())
    ref = StandardRoIHead(**_cfg())
    ref.load_state_dict(ours.state_dict())
    return ours, ref


GT_BOXES = torch.tensor([[4.0, 4.0, 30.0, 28.0], [20.0, 30.0, 60.0, 62.0], [40.0, 2.0, 62.0, 20.0]])


def _samples(weights=(None, None)):
    samples = []
    for i, w in enumerate(weights):
        sample = DetDataSample(metainfo=dict(img_shape=(64, 64)))
        gt = InstanceData(bboxes=GT_BOXES + i, labels=torch.tensor([0, 2, 3]))
        if w is not None:
            gt.weights = torch.tensor(w)
        sample.gt_instances = gt
        samples.append(sample)
    return samples


def _inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(2, CH, 16, 16, generator=g),)
    proposals = []
    for _ in range(2):
        xy = torch.rand(40, 2, generator=g) * 44
        wh = torch.rand(40, 2, generator=g) * 28 + 6
        boxes = torch.cat([xy, (xy + wh).clamp(max=64)], dim=1)
        boxes = torch.cat([boxes, GT_BOXES + torch.randn(3, 4, generator=g)])  # some positives
        proposals.append(InstanceData(bboxes=boxes, scores=torch.rand(43, generator=g)))
    return x, proposals


def _loss(head, weights, seed=7):
    x, proposals = _inputs()
    torch.manual_seed(seed)
    return head.loss(x, copy.deepcopy(proposals), _samples(weights))


@pytest.mark.parametrize('weights', [(None, None), ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])])
def test_equals_upstream_without_weights(weights):
    ours, ref = _heads()
    got, exp = _loss(ours, weights), _loss(ref, (None, None))
    assert got.keys() == exp.keys()
    for key in exp:
        assert torch.equal(got[key], exp[key]), key


def _unreduced_upstream(ref, weights, seed=7):
    """Per-RoI upstream losses (reduction 'none') and each RoI's object weight."""
    x, proposals = _inputs()
    proposals = copy.deepcopy(proposals)
    samples = _samples()
    torch.manual_seed(seed)
    sampling_results = []
    for i in range(2):  # the sampling of StandardRoIHead.loss, step by step
        proposals[i].priors = proposals[i].pop('bboxes')
        assign = ref.bbox_assigner.assign(proposals[i], samples[i].gt_instances, None)
        sampling_results.append(
            ref.bbox_sampler.sample(
                assign, proposals[i], samples[i].gt_instances, feats=[x[0][i][None]]
            )
        )
    rois = bbox2roi([res.priors for res in sampling_results])
    out = ref._bbox_forward(x, rois)
    targets = ref.bbox_head.get_targets(sampling_results, ref.train_cfg)
    losses = ref.bbox_head.loss(
        out['cls_score'], out['bbox_pred'], rois, *targets, reduction_override='none'
    )
    roi_w, is_pos = [], []
    for res, w in zip(sampling_results, weights):
        w = torch.tensor(w)
        roi_w += [w[res.pos_assigned_gt_inds], torch.ones(len(res.neg_inds))]
        is_pos += [
            torch.ones(len(res.pos_inds), dtype=torch.bool),
            torch.zeros(len(res.neg_inds), dtype=torch.bool),
        ]
    return losses, targets, torch.cat(roi_w), torch.cat(is_pos)


@pytest.mark.parametrize('weights', [([0.4] * 3, [0.4] * 3), ([0.2, 0.9, 0.6], [0.7, 0.1, 0.3])])
def test_weighted_losses_follow_the_formula(weights):
    ours, ref = _heads()
    got = _loss(ours, weights)
    losses, targets, roi_w, is_pos = _unreduced_upstream(ref, weights)
    labels = targets[0]
    num_rois = len(labels)
    assert is_pos.sum() > 2 and (~is_pos).sum() > 2
    eps = torch.finfo(torch.float32).eps
    # Bag of Freebies Table 1: each RoI's loss scaled by its object's blending ratio
    exp_cls = (losses['loss_cls'] * roi_w).sum() / (num_rois + eps)
    exp_bbox = (losses['loss_bbox'] * roi_w[is_pos, None]).sum() / (num_rois + eps)
    torch.testing.assert_close(got['loss_cls'], exp_cls, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(got['loss_bbox'], exp_bbox, rtol=1e-5, atol=1e-7)
    assert torch.equal(labels[is_pos] < NUM_CLASSES, torch.ones_like(labels[is_pos], dtype=bool))
    unweighted = _loss(ours, (None, None))
    assert got['loss_cls'] < unweighted['loss_cls']
    torch.testing.assert_close(got['acc'], unweighted['acc'])


def test_backward_and_empty_gts():
    ours, _ = _heads()
    x, proposals = _inputs()
    x = (x[0].requires_grad_(),)
    samples = _samples(([0.3, 0.6, 0.9], [0.5, 0.5, 0.5]))
    empty = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long), weights=torch.zeros(0)
    )
    samples[1].gt_instances = empty
    losses = ours.loss(x, proposals, samples)
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert torch.isfinite(x[0].grad).all()
    assert ours._batch_gt_weights is None  # cleared after the call


def test_bad_weights_and_unsupported_bbox_head():
    ours, _ = _heads()
    with pytest.raises(ValueError, match='>= 0'):
        _loss(ours, ([0.5, float('nan'), 1.0], None))
    init_default_scope('mmdet')
    with pytest.raises(TypeError, match='BBoxHead'):
        WeightedStandardRoIHead(**_cfg(bbox_head=dict(type='SABLHead', num_classes=NUM_CLASSES)))


def test_registry():
    init_default_scope('mmdet')
    head = MODELS.build(dict(type='mmext.WeightedStandardRoIHead', **_cfg()))
    assert isinstance(head, WeightedStandardRoIHead)


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
@pytest.mark.parametrize('weights', [(None, None), ([0.3, 1.0, 0.6], [1.0, 0.5, 0.8])])
def test_non_finite_logit_gives_non_finite_loss(bad, weights):
    """A NaN / +inf classification logit of a sampled RoI never gives a finite loss_cls."""
    ours, _ = _heads()

    def poison(module, args, output):
        output = output.clone()
        output[0, 1] = bad  # the first sampled RoI (a positive of image 0)
        return output

    handle = ours.bbox_head.fc_cls.register_forward_hook(poison)
    try:
        losses = _loss(ours, weights)
    finally:
        handle.remove()
    assert not torch.isfinite(losses['loss_cls'])
