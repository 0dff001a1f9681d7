"""ICUBBoxHead: losses against the loop transcriptions (background Gaussian included), the
upstream box loss, model-zoo checkpoint compatibility, errors, and a Faster R-CNN that
trains with it."""

import copy
import os.path as osp
import re
from unittest import mock

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import mmext  # noqa: F401
from tests.models.icu_reference import eq9_distances, eq14_terms, eq17_loss

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
EPS = torch.finfo(torch.float32).eps  # mmdet's avg_factor convention


# a tiny Shared2FCBBoxHead: 4-channel 2x2 RoI features, 6-d fc, 3 classes
TINY_HEAD = dict(
    in_channels=4, roi_feat_size=2, fc_out_channels=6, num_classes=3, reg_class_agnostic=False
)


def _heads(regularize_background=True):
    init_default_scope('mmdet')
    common = TINY_HEAD
    icu = MODELS.build(
        dict(
            type='mmext.ICUBBoxHead',
            regularize_background=regularize_background,
            reg_reduction='sum',
            lambda_mu=0.3,
            lambda_sigma=0.2,
            init_std=1.0,
            loss_cls=dict(type='mmext.ICULoss', alpha=0.1, gamma=0.05),
            **common,
        )
    )
    upstream = MODELS.build(dict(type='Shared2FCBBoxHead', **common))
    icu.init_weights()
    upstream.load_state_dict(
        {k: v for k, v in icu.state_dict().items() if not k.startswith('fc_cls')}, strict=False
    )
    with torch.no_grad():
        icu.fc_cls.log_vars.uniform_(-0.5, 0.5)
    return icu.double(), upstream.double()


@pytest.mark.parametrize('regularize_background', [True, False])
def test_losses_match_transcription(regularize_background):
    torch.manual_seed(0)
    icu, upstream = _heads(regularize_background)
    icu.train()
    rois_feats = torch.randn(7, 4, 2, 2, dtype=torch.float64)
    labels = torch.tensor([0, 3, 1, 3, 2, 3, 1])  # 3 = background
    label_weights = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0], dtype=torch.float64)
    rois = torch.cat([torch.zeros(7, 1), torch.rand(7, 4) * 20], 1).double()
    bbox_targets = torch.randn(7, 4, dtype=torch.float64)
    bbox_weights = torch.ones(7, 4, dtype=torch.float64)
    cls_score, bbox_pred = icu(rois_feats)
    losses = icu.loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights)
    assert set(losses) == {'loss_cls', 'acc', 'loss_icu_reg', 'loss_bbox'}

    # independent computation: shared FCs (nn.Linear + ReLU) -> Eq. 9 -> Eq. 17 / Eq. 14
    feats = rois_feats.flatten(1)
    for fc in icu.shared_fcs:  # same weights as upstream.shared_fcs
        feats = torch.relu(fc(feats))
    means, log_vars = icu.fc_cls.means, icu.fc_cls.log_vars
    dist = eq9_distances(feats, means, log_vars)
    torch.testing.assert_close(cls_score, -dist)
    torch.testing.assert_close(icu.distances(feats), dist)
    assert icu.means is means and icu.log_vars.shape == (4, 6)
    ref_cls = (
        eq17_loss(dist, labels.tolist(), 0.1, 0.05, num_dims=6, weights=label_weights.tolist())
        * 7
        / (6 + EPS)
    )
    rows = [
        i for i in range(7) if label_weights[i] > 0 and (regularize_background or labels[i] != 3)
    ]
    reg_mu, reg_sigma = eq14_terms(feats[rows], labels[rows].tolist(), means, log_vars)
    torch.testing.assert_close(losses['loss_cls'], ref_cls)
    torch.testing.assert_close(losses['loss_icu_reg'], 0.3 * reg_mu + 0.2 * reg_sigma)
    up_losses = upstream.loss(
        None, upstream(rois_feats)[1], rois, labels, label_weights, bbox_targets, bbox_weights
    )
    torch.testing.assert_close(losses['loss_bbox'], up_losses['loss_bbox'])
    # gradients of the ICU terms
    params = (means, log_vars, icu.shared_fcs[1].weight)
    got = torch.autograd.grad(losses['loss_cls'] + losses['loss_icu_reg'], params)
    want = torch.autograd.grad(ref_cls + 0.3 * reg_mu + 0.2 * reg_sigma, params)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-9)
    icu.eval()
    torch.testing.assert_close(icu(rois_feats)[0], -dist)  # test time: softmax(-d) upstream


@pytest.mark.parametrize('loss_type', ['mmext.ICULoss', 'mmext.LGMLoss'])
def test_compile_kernels_reaches_classifier_and_loss(loss_type):
    init_default_scope('mmdet')
    cfg = dict(type='mmext.ICUBBoxHead', loss_cls=dict(type=loss_type), **TINY_HEAD)
    head = MODELS.build(dict(cfg, compile_kernels=True))
    assert head.fc_cls.compile_kernels and head.loss_cls.compile_kernels
    # an explicit setting in loss_cls wins
    head = MODELS.build(
        dict(cfg, compile_kernels=True, loss_cls=dict(type=loss_type, compile_kernels=False))
    )
    assert head.fc_cls.compile_kernels and not head.loss_cls.compile_kernels
    head = MODELS.build(cfg)
    assert not head.fc_cls.compile_kernels and not head.loss_cls.compile_kernels


def test_errors():
    init_default_scope('mmdet')
    common = dict(in_channels=4, roi_feat_size=2, fc_out_channels=6, num_classes=3)
    with pytest.raises(TypeError, match="needs loss_cls=dict\\(type='mmext.ICULoss'"):
        MODELS.build(
            dict(
                type='mmext.ICUBBoxHead',
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False),
                **common,
            )
        )
    with pytest.raises(ValueError, match='do not pass cls_predictor_cfg'):
        MODELS.build(
            dict(type='mmext.ICUBBoxHead', cls_predictor_cfg=dict(type='Linear'), **common)
        )
    with pytest.raises(ValueError, match='set loss_cls.gamma=0'):
        MODELS.build(dict(type='mmext.ICUBBoxHead', use_log_det=False, **common))
    head = MODELS.build(dict(type='mmext.ICUBBoxHead', **common))
    head.train()
    score, pred = head(torch.randn(3, 4, 2, 2))
    other = score.clone()
    with pytest.raises(RuntimeError, match='latest training forward'):
        head.loss(
            other,
            pred,
            torch.zeros(3, 5),
            torch.zeros(3, dtype=torch.long),
            torch.ones(3),
            torch.zeros(3, 4),
            torch.ones(3, 4),
        )


def _model_keys_report(model, path):
    """Load non-strictly; return mmengine's reported (unexpected, missing) keys."""
    with mock.patch('mmengine.runner.checkpoint.print_log') as log:
        load_checkpoint(model, path, map_location='cpu', strict=False)
    message = ' '.join(str(c.args[0]) for c in log.call_args_list)
    found = {}
    for kind in ('unexpected key in source state_dict', 'missing keys in source state_dict'):
        match = re.search(kind + r': ([^\n]*)', message)
        found[kind] = set(match.group(1).split(', ')) if match else set()
    return found['unexpected key in source state_dict'], found['missing keys in source state_dict']


def test_model_zoo_faster_rcnn_checkpoint_loads(tmp_path):
    init_default_scope('mmdet')
    upstream_cfg = get_config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    upstream = MODELS.build(upstream_cfg.model)
    ckpt = {
        k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v
        for k, v in upstream.state_dict().items()
    }  # distinguishable from init
    path = str(tmp_path / 'faster_rcnn_r50_fpn_1x_coco.pth')
    torch.save(dict(state_dict=ckpt, meta=dict()), path)
    del upstream

    cfg = Config.fromfile(
        osp.join(
            REPO, 'configs', 'icu_loss', 'detection', 'faster-rcnn_r50-fpn_icu-head_1x_coco.py'
        )
    )
    model = MODELS.build(cfg.model)
    assert type(model.roi_head.bbox_head).__name__ == 'ICUBBoxHead'
    unexpected, missing = _model_keys_report(model, path)
    prefix = 'roi_head.bbox_head.fc_cls.'
    assert unexpected == {prefix + 'weight', prefix + 'bias'}
    assert missing == {prefix + 'means', prefix + 'log_vars'}
    state = model.state_dict()
    loaded = [k for k in ckpt if not k.startswith(prefix)]
    assert set(loaded) == set(state) - {prefix + 'means', prefix + 'log_vars'}
    for key in loaded:
        assert torch.equal(state[key], ckpt[key]), key
    assert model.roi_head.bbox_head.fc_cls.means.shape == (81, 1024)


@pytest.mark.parametrize('reg_reduction', ['mean', 'sum'])
def test_tiny_faster_rcnn_trains_with_icu_head(reg_reduction):
    """The default ('mean') trains; Eq. 14's own 'sum' scale diverges on 256-d RoI features
    trained from scratch (the reason for the default, see ICUBBoxHead)."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        osp.join(
            REPO,
            'configs',
            'icu_loss',
            'digits',
            'faster-rcnn_r18-tiny-fpn_icu-head_1xb8-1k_digits-det.py',
        )
    )
    assert cfg.model.roi_head.bbox_head.get('reg_reduction', 'mean') == 'mean'
    cfg.model.roi_head.bbox_head.reg_reduction = reg_reduction
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    packed = demo_mm_inputs(
        batch_size=2, image_shapes=(3, 96, 96), num_items=[3, 2], num_classes=10
    )
    head = model.roi_head.bbox_head
    means_before = head.fc_cls.means.detach().clone()
    history = []
    for _ in range(4):
        history.append(model.train_step(copy.deepcopy(packed), optim))
    finite = all(
        torch.isfinite(torch.as_tensor(h[key]))
        for h in history
        for key in ('loss_cls', 'loss_icu_reg', 'loss_bbox', 'loss')
    )
    if reg_reduction == 'sum':
        assert not finite or history[-1]['loss'] > 1e6 * history[0]['loss']
        return
    assert finite
    assert history[-1]['loss_cls'] < history[0]['loss_cls']
    assert not torch.equal(means_before, head.fc_cls.means.detach())
    model.eval()
    with torch.no_grad():
        results = model.test_step(copy.deepcopy(packed))
    scores = results[0].pred_instances.scores
    assert torch.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_roi_features_give_non_finite_losses(bad):
    """A NaN / +inf RoI feature (positive label weight) never gives a finite ICU loss."""
    torch.manual_seed(0)
    icu, _ = _heads()
    icu.train()
    rois_feats = torch.randn(7, 4, 2, 2, dtype=torch.float64)
    rois_feats[1, 2] = bad
    labels = torch.tensor([0, 2, 1, 3, 2, 3, 1])
    label_weights = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0], dtype=torch.float64)
    rois = torch.cat([torch.zeros(7, 1), torch.rand(7, 4) * 20], 1).double()
    cls_score, bbox_pred = icu(rois_feats)
    assert not torch.isfinite(cls_score[1]).all()
    losses = icu.loss(
        cls_score,
        bbox_pred,
        rois,
        labels,
        label_weights,
        torch.randn(7, 4, dtype=torch.float64),
        torch.ones(7, 4, dtype=torch.float64),
    )
    assert not torch.isfinite(losses['loss_cls'])
    assert not torch.isfinite(losses['loss_icu_reg'])
