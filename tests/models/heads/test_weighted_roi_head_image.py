"""Tests of ``WeightedStandardRoIHead(weighting='image')``: GluonCV's whole-loss scaling."""

import copy

import pytest
import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.structures import DetDataSample
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmext.models.heads.weighted_roi_head import WeightedStandardRoIHead
from tests.models.heads.test_weighted_roi_head import GT_BOXES, _cfg, _inputs

ALL = 1000  # sampler size above the 43 proposals + 3 gts: every RoI sampled, deterministic
ROIS_PER_IMAGE = 46


def _heads(weighting='image'):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    ours = WeightedStandardRoIHead(**_cfg(num=ALL), weighting=weighting)
    ref = StandardRoIHead(**_cfg(num=ALL))
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _samples(ratios, gt_weights=None):
    samples = []
    for i, ratio in enumerate(ratios):
        meta = dict(img_shape=(64, 64))
        if ratio is not None:
            meta['mixup_ratio'] = ratio
        gt = InstanceData(bboxes=GT_BOXES + i, labels=torch.tensor([0, 2, 3]))
        if gt_weights is not None:
            gt.weights = torch.tensor(gt_weights[i])
        sample = DetDataSample(metainfo=meta)
        sample.gt_instances = gt
        samples.append(sample)
    return samples


def _loss(head, samples, x=None, images=(0, 1)):
    feats, proposals = _inputs()
    x = feats if x is None else x
    proposals = [copy.deepcopy(proposals[i]) for i in images]
    for p in proposals:  # proposals in the dtype of the features, as an RPN gives them
        p.bboxes, p.scores = p.bboxes.to(x[0].dtype), p.scores.to(x[0].dtype)
    torch.manual_seed(7)
    return head.loss((x[0][list(images)],), proposals, samples)


def test_rejects_an_unknown_weighting():
    init_default_scope('mmdet')
    with pytest.raises(ValueError, match='weighting'):
        WeightedStandardRoIHead(**_cfg(), weighting='anchor')


@pytest.mark.parametrize('ratios', [(None, None), (1.0, 1.0)])
def test_equals_upstream_at_ratio_one_and_ignores_object_weights(ratios):
    ours, ref = _heads()
    got = _loss(ours, _samples(ratios, gt_weights=([0.2, 0.5, 0.9], [0.1, 0.3, 0.7])))
    exp = _loss(ref, _samples((None, None)))
    for key in exp:
        assert torch.equal(got[key], exp[key]), key


def test_even_mix_halves_every_roi_loss_negatives_included():
    """GluonCV: ``rcnn_loss.sum() * mix_ratio`` with mix_ratio 0.5."""
    ours, ref = _heads()
    got = _loss(ours, _samples((0.5, 0.5), gt_weights=([0.5] * 3, [0.5] * 3)))
    exp = _loss(ref, _samples((None, None)))
    for key in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(got[key], 0.5 * exp[key], rtol=1e-6, atol=0)
    torch.testing.assert_close(got['acc'], exp['acc'])
    # the default (paper) weighting keeps negatives at 1: not a plain halving
    paper, _ = _heads('object')
    obj = _loss(paper, _samples((0.5, 0.5), gt_weights=([0.5] * 3, [0.5] * 3)))
    assert obj['loss_cls'] > got['loss_cls']


def test_per_image_ratios_equal_hand_combination_of_upstream_single_images():
    """loss = (w_0 * N_0 * L_0 + w_1 * N_1 * L_1) / (N_0 + N_1), L_i = upstream on image i."""
    ours, ref = _heads()
    w = (0.3, 0.8)
    got = _loss(ours, _samples(w))
    singles = [_loss(ref, _samples((None, None))[i : i + 1], images=(i,)) for i in range(2)]
    n = ROIS_PER_IMAGE
    for key in ('loss_cls', 'loss_bbox'):
        exp = (w[0] * n * singles[0][key] + w[1] * n * singles[1][key]) / (2 * n)
        torch.testing.assert_close(got[key], exp, rtol=1e-5, atol=1e-7)


def test_feature_gradient_of_each_image_scales_by_its_ratio():
    ours, ref = _heads()
    feats, _ = _inputs()
    grads = []
    for head, ratios in ((ours, (0.25, 0.75)), (ref, (None, None))):
        x = feats[0].clone().requires_grad_()
        losses = _loss(head, _samples(ratios), x=(x,))
        (grad,) = torch.autograd.grad(losses['loss_cls'] + losses['loss_bbox'], x)
        grads.append(grad)
    scale = torch.tensor([0.25, 0.75]).view(2, 1, 1, 1)
    torch.testing.assert_close(grads[0], grads[1] * scale, rtol=1e-5, atol=1e-9)


def test_roi_weights_follow_dtype_and_device():
    ours, _ = _heads()
    ours = ours.double()
    feats, _ = _inputs()
    seen = []
    original = WeightedStandardRoIHead.image_sample_weights

    def spy(results, weights):
        out = original(results, weights)
        seen.append(out)
        return out

    ours.image_sample_weights = spy
    losses = _loss(ours, _samples((0.5, 0.25)), x=(feats[0].double(),))
    (weights,) = seen
    assert weights.dtype == torch.float64 and weights.device == feats[0].device
    assert torch.equal(weights, torch.tensor([0.5] * 46 + [0.25] * 46, dtype=torch.float64))
    assert losses['loss_cls'].dtype == torch.float64
    assert losses['loss_bbox'].dtype == torch.float64
