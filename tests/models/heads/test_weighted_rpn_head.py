"""Tests of mmext.ImageWeightedRPNHead (GluonCV's per-image loss scaling) vs mmdet's RPNHead."""

import pytest
import torch
from mmdet.models.dense_heads import RPNHead
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmext.models.heads.weighted_rpn_head import ImageWeightedRPNHead, image_mix_weights
from mmext.registry import MODELS

CH = 4
SIZE = 32


def _cfg():
    return dict(
        in_channels=CH,
        feat_channels=CH,
        anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[1.0, 2.0], strides=[4]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0, 1.0, 1.0, 1.0]
        ),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        # sample every anchor (num far above the anchor count): the targets are deterministic
        train_cfg=ConfigDict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1,
            ),
            sampler=dict(
                type='RandomSampler',
                num=100000,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False,
            ),
            allowed_border=-1,
            pos_weight=-1,
            debug=False,
        ),
    )


def _heads():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    ours = ImageWeightedRPNHead(**_cfg())
    ref = RPNHead(**_cfg())
    ref.load_state_dict(ours.state_dict())
    return ours, ref


GT = torch.tensor([[2.0, 3.0, 14.0, 20.0], [15.0, 10.0, 30.0, 28.0]])


def _batch(ratios, dtype=torch.float32):
    g = torch.Generator().manual_seed(3)
    n = len(ratios)
    cls = torch.randn(n, 2, SIZE // 4, SIZE // 4, generator=g).to(dtype)
    reg = torch.randn(n, 8, SIZE // 4, SIZE // 4, generator=g).to(dtype)
    gts = [
        InstanceData(bboxes=(GT + i).to(dtype), labels=torch.zeros(2, dtype=torch.long))
        for i in range(n)
    ]
    metas = []
    for r in ratios:
        meta = dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE))
        if r is not None:
            meta['mixup_ratio'] = r
        metas.append(meta)
    return cls, reg, gts, metas


def _losses(head, cls, reg, gts, metas):
    out = head.loss_by_feat([cls], [reg], gts, metas)
    return {k: sum(v) for k, v in out.items()}


def test_registered_and_built_from_the_host_scope():
    init_default_scope('mmdet')
    head = MODELS.build(dict(type='mmext.ImageWeightedRPNHead', **_cfg()))
    assert isinstance(head, ImageWeightedRPNHead) and isinstance(head, RPNHead)


@pytest.mark.parametrize('ratios', [(None, None), (1.0, 1.0)])
def test_equals_upstream_without_mixing(ratios):
    ours, ref = _heads()
    got = _losses(ours, *_batch(ratios))
    exp = _losses(ref, *_batch((None, None)))
    for key in exp:
        assert torch.equal(got[key], exp[key]), key


def test_even_mix_halves_every_rpn_loss():
    """GluonCV: ``rpn_loss.sum() * mix_ratio`` with mix_ratio 0.5 (both terms, all anchors)."""
    ours, ref = _heads()
    got = _losses(ours, *_batch((0.5, 0.5)))
    exp = _losses(ref, *_batch((None, None)))
    for key in exp:
        torch.testing.assert_close(got[key], 0.5 * exp[key], rtol=1e-6, atol=0)


def test_per_image_weights_equal_hand_combination_of_upstream_single_images():
    """sum_i w_i * S_i / (A_1 + A_2), with S_i = A_i * (upstream loss of image i alone)."""
    ours, ref = _heads()
    w = (0.3, 0.8)
    cls, reg, gts, metas = _batch(w)
    got = _losses(ours, cls, reg, gts, metas)
    sums, counts = [], []
    for i in range(2):
        single = (cls[i : i + 1], reg[i : i + 1], [gts[i]], [dict(metas[i])])
        single[3][0].pop('mixup_ratio')
        loss = _losses(ref, *single)
        anchors, valid = ref.get_anchors([(SIZE // 4, SIZE // 4)], single[3], device='cpu')
        avg = ref.get_targets(anchors, valid, single[2], single[3])[4]
        sums.append({k: v * avg for k, v in loss.items()})
        counts.append(avg)
    for key in got:
        exp = (w[0] * sums[0][key] + w[1] * sums[1][key]) / (counts[0] + counts[1])
        torch.testing.assert_close(got[key], exp, rtol=1e-5, atol=1e-7)


def test_gradient_is_the_weighted_upstream_gradient():
    ours, ref = _heads()
    cls, reg, gts, _ = _batch((None, None))
    grads = []
    for head, metas in ((ours, _batch((0.25, 0.5))[3]), (ref, _batch((None, None))[3])):
        c, r = cls.clone().requires_grad_(), reg.clone().requires_grad_()
        loss = sum(_losses(head, c, r, gts, metas).values())
        grads.append(torch.autograd.grad(loss, (c, r)))
    scale = torch.tensor([0.25, 0.5]).view(2, 1, 1, 1)
    for got, exp in zip(*grads):
        torch.testing.assert_close(got, exp * scale, rtol=1e-5, atol=1e-8)


def test_float64_gradcheck_and_dtype():
    """float64 in, float64 losses out (softmax objectness: mmdet's sigmoid BCE path returns
    float32 for float64 inputs upstream too), and the weighted loss passes gradcheck."""
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg = _cfg()
    cfg['loss_cls'] = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
    ours = ImageWeightedRPNHead(**cfg).double()
    g = torch.Generator().manual_seed(5)
    cls = torch.randn(2, 4, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    reg = torch.randn(2, 8, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    metas = [dict(img_shape=(16, 16), pad_shape=(16, 16), mixup_ratio=r) for r in (0.5, 0.25)]
    gts = [
        InstanceData(
            bboxes=torch.tensor([[1.0, 2.0, 15.0, 16.0]]).double(), labels=torch.zeros(1).long()
        )
        for _ in range(2)
    ]

    def fn(c, r):
        out = ours.loss_by_feat([c], [r], gts, metas)
        return sum(out['loss_rpn_cls']), sum(out['loss_rpn_bbox'])

    values = fn(cls, reg)
    assert all(v.dtype == torch.float64 for v in values)
    assert all(v.item() > 0 for v in values)
    assert torch.autograd.gradcheck(fn, (cls, reg), eps=1e-6, atol=1e-6)


def test_image_mix_weights_reads_and_checks_the_metainfo():
    assert image_mix_weights([{}, {'mixup_ratio': 0.5}, {'mixup_ratio': 1}]) == [1.0, 0.5, 1.0]
    for bad in (-0.1, 1.5, float('nan')):
        with pytest.raises(ValueError, match='mixup_ratio'):
            image_mix_weights([{'mixup_ratio': bad}])
