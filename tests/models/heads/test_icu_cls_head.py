"""ICUClsHead: loss items against the loop transcriptions of Eq. 9/14/17/18, predictions
(argmin d, softmax(-d)), L-GM mode, errors, fp16, and a short real mmpretrain Runner run."""

import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmext  # noqa: F401
from mmext.models.heads.icu_cls_head import ICUClsHead
from tests.models.icu_reference import eq9_distances, eq14_terms, eq17_loss

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _head(**kwargs):
    init_default_scope('mmpretrain')
    cfg = dict(type='mmext.ICUClsHead', num_classes=4, in_channels=3, init_std=1.0)
    cfg.update(kwargs)
    head = MODELS.build(cfg).double()
    with torch.no_grad():
        head.log_vars.uniform_(-0.5, 0.5)
    return head


def _samples(labels):
    return [DataSample().set_gt_label(int(z)) for z in labels]


@pytest.mark.parametrize('reg_reduction', ['sum', 'mean'])
def test_loss_matches_transcription(reg_reduction):
    torch.manual_seed(0)
    head = _head(
        alpha=0.1, gamma=0.05, lambda_mu=0.3, lambda_sigma=0.2, reg_reduction=reg_reduction
    )
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    labels = [0, 2, 2, 3, 0, 2]
    losses = head.loss((torch.randn(6, 8), x), _samples(labels))
    assert set(losses) == {'loss_icu_cls', 'loss_icu_reg'}
    dist = eq9_distances(x, head.means, head.log_vars)
    # the head averages with avg_factor=N, to which mmpretrain's convention adds float32 eps
    eps = torch.finfo(torch.float32).eps
    ref_cls = eq17_loss(dist, labels, 0.1, 0.05, num_dims=3) * 6 / (6 + eps)
    reg_mu, reg_sigma = eq14_terms(x, labels, head.means, head.log_vars)
    scale = 1.0 if reg_reduction == 'sum' else 1.0 / (3 * 3)  # 3 classes present, D = 3
    ref_reg = (0.3 * reg_mu + 0.2 * reg_sigma) * scale
    torch.testing.assert_close(losses['loss_icu_cls'], ref_cls)
    torch.testing.assert_close(losses['loss_icu_reg'], ref_reg)
    params = (x, head.means, head.log_vars)
    total = losses['loss_icu_cls'] + losses['loss_icu_reg']
    for got, want in zip(
        torch.autograd.grad(total, params), torch.autograd.grad(ref_cls + ref_reg, params)
    ):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('use_log_det', [True, False])
def test_compiled_kernels_match_transcription(use_log_det):
    """compile_kernels=True: float32 losses and gradients against the float64 transcriptions
    of Eq. 9/14/17, at two batch sizes (the second recompiles), with every element-wise
    kernel compiled whole (fullgraph: no silent eager fallback)."""
    from mmext.models.layers import gaussian_classifier_ops
    from mmext.models.losses import icu_loss

    torch.manual_seed(3)
    gamma = 0.05 if use_log_det else 0.0
    head = _head(
        alpha=0.1,
        gamma=gamma,
        lambda_mu=0.3,
        lambda_sigma=0.2,
        reg_reduction='sum',
        use_log_det=use_log_det,
    ).float()
    head.classifier.compile_kernels = head.loss_module.compile_kernels = True
    num_dims = 3 if use_log_det else 0
    for labels in ([0, 2, 2, 3, 0, 1, 2, 0], [3, 1, 1, 0, 3]):
        n = len(labels)
        x = torch.randn(n, 3, requires_grad=True)
        losses = head.loss((x,), _samples(labels))
        params = (x, head.means, head.log_vars)
        got_grads = torch.autograd.grad(losses['loss_icu_cls'] + losses['loss_icu_reg'], params)
        ref = [p.detach().double().requires_grad_() for p in params]
        dist = eq9_distances(*ref, use_log_det=use_log_det)
        eps = torch.finfo(torch.float32).eps
        ref_cls = eq17_loss(dist, labels, 0.1, gamma, num_dims=num_dims) * n / (n + eps)
        reg_mu, reg_sigma = eq14_terms(ref[0], labels, ref[1], ref[2])
        ref_reg = 0.3 * reg_mu + 0.2 * reg_sigma
        torch.testing.assert_close(losses['loss_icu_cls'].double(), ref_cls, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(losses['loss_icu_reg'].double(), ref_reg, rtol=1e-5, atol=1e-6)
        for got, want in zip(got_grads, torch.autograd.grad(ref_cls + ref_reg, ref)):
            torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-5)
    for kernel in (
        gaussian_classifier_ops._forward_terms,
        gaussian_classifier_ops._shrink_grad,
        gaussian_classifier_ops._parameter_grads,
        icu_loss._margin_softmax,
        icu_loss._margin_softmax_grad,
    ):
        assert kernel.disabled_reason is None, kernel.disabled_reason
        assert kernel._compiled is not None
        assert kernel.compile_kwargs['fullgraph'] is True


@pytest.mark.parametrize('mode', ['icu', 'lgm'])
def test_compile_kernels_reaches_classifier_and_loss(mode):
    extra = dict(gamma=0.0) if mode == 'lgm' else {}
    head = _head(mode=mode, compile_kernels=True, **extra)
    assert head.classifier.compile_kernels and head.loss_module.compile_kernels
    head = _head(mode=mode, **extra)
    assert not head.classifier.compile_kernels and not head.loss_module.compile_kernels


def test_reg_to_features_false_keeps_eq14_off_the_features():
    """Option reg_to_features=False: same loss values, Eq. 14 sends no gradient to the
    features (transcription with the features detached in Eq. 14), parameters still fitted."""
    torch.manual_seed(0)
    head = _head(lambda_mu=0.3, lambda_sigma=0.2, reg_to_features=False)
    assert head.classifier.reg_to_features is False
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    labels = [0, 2, 2, 3, 0, 2]
    losses = head.loss((x,), _samples(labels))
    reg_mu, reg_sigma = eq14_terms(x.detach(), labels, head.means, head.log_vars)
    ref_reg = (0.3 * reg_mu + 0.2 * reg_sigma) / 9
    torch.testing.assert_close(losses['loss_icu_reg'], ref_reg)
    params = (x, head.means, head.log_vars)
    got = torch.autograd.grad(losses['loss_icu_reg'], params)
    want = torch.autograd.grad(ref_reg, params[1:])
    assert torch.count_nonzero(got[0]) == 0
    for g, w in zip(got[1:], want):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-12)


def test_predict_argmin_distance_and_posterior():
    torch.manual_seed(1)
    head = _head()
    x = torch.randn(5, 3, dtype=torch.float64)
    dist = eq9_distances(x, head.means, head.log_vars)
    preds = head.predict((x,))
    assert [int(p.pred_label) for p in preds] == dist.argmin(1).tolist()
    scores = torch.stack([p.pred_score for p in preds])
    torch.testing.assert_close(scores, torch.softmax(-dist, 1))
    torch.testing.assert_close(head.distances(x), dist)  # no margins at inference
    assert head.means.shape == head.log_vars.shape == (4, 3)


def test_lgm_mode():
    torch.manual_seed(2)
    head = _head(use_log_det=False, gamma=0.0, alpha=0.2)
    x = torch.randn(4, 3, dtype=torch.float64)
    labels = [1, 1, 0, 3]
    dist = eq9_distances(x, head.means, head.log_vars, use_log_det=False)
    losses = head.loss((x,), _samples(labels))
    torch.testing.assert_close(losses['loss_icu_cls'], eq17_loss(dist, labels, 0.2, 0.0, 0))
    assert losses['loss_icu_reg'] > 0
    torch.testing.assert_close(head.distances(x), dist)
    with pytest.raises(ValueError, match='set gamma=0'):
        _head(use_log_det=False, gamma=1e-3)


def test_errors_and_cal_acc():
    head = _head(cal_acc=True, topk=(1, 2))
    x = torch.randn(4, 3, dtype=torch.float64)
    losses = head.loss((x,), _samples([0, 1, 2, 3]))
    assert 'accuracy_top-1' in losses and 'accuracy_top-2' in losses
    with pytest.raises(ValueError, match=r'expects features of shape \(N, 3\)'):
        head.loss((torch.randn(4, 5),), _samples([0, 1, 2, 3]))
    mixed = _samples([0, 1])
    for sample in mixed:
        sample.set_gt_score(torch.tensor([0.5, 0.5, 0.0, 0.0]))
    with pytest.raises(ValueError, match='needs hard labels'):
        head.loss((torch.randn(2, 3),), mixed)
    with pytest.raises(ValueError, match=r'must lie in \[0, 4\)'):
        head.loss((x,), _samples([0, 1, 2, 4]))
    with pytest.raises(ValueError, match='reg_reduction'):
        ICUClsHead(num_classes=4, in_channels=3, reg_reduction='max')


def test_fp16_features_give_finite_float32_losses():
    init_default_scope('mmpretrain')
    head = MODELS.build(dict(type='mmext.ICUClsHead', num_classes=10, in_channels=32))
    labels = _samples(torch.arange(16) % 10)
    x = (torch.randn(16, 32) * 3).half().requires_grad_()
    losses = head.loss((x,), labels)
    sum(losses.values()).backward()
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())
    assert torch.isfinite(x.grad).all() and torch.isfinite(head.means.grad).all()
    # (x - mu)^2 and the Eq. 14 terms of large fp16 features overflow fp16, not float32
    big = (torch.randn(16, 32) * 300).half()
    losses = head.loss((big,), labels)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_icu_reg'] > 65504


def test_short_runner_training(tmp_path):
    """A few iterations of a real mmpretrain Runner (LeNet++ 2-D features + ICU head) on a
    tiny long-tailed digits split: the losses are finite and the Gaussians move."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'icu_loss', 'digits', 'icu_lenetpp-2d_1xb32-1k_digits-cls.py')
    )
    cfg.work_dir = str(tmp_path / 'work')
    data_root = str(tmp_path / 'digits')
    for loader, per_class in ((cfg.train_dataloader, 12), (cfg.val_dataloader, 4)):
        loader.dataset.data_root = data_root
        loader.dataset.max_per_class = per_class
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_iters = 6
    cfg.train_cfg.val_interval = 6
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    head = runner.model.head
    before = head.means.detach().clone()
    runner.train()
    scalars = runner.message_hub.log_scalars
    for key in ('train/loss_icu_cls', 'train/loss_icu_reg'):
        values = scalars[key].data[0]
        assert len(values) == 6 and all(map(lambda v: v == v and abs(v) < 1e6, values))
    assert not torch.equal(before, head.means.detach())
    assert 'val/accuracy/top1' in scalars


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
@pytest.mark.parametrize('use_log_det', [True, False])
def test_non_finite_features_give_non_finite_losses(bad, use_log_det):
    """A NaN / +inf feature (hence NaN / non-finite logits −d) never gives finite losses."""
    head = _head(use_log_det=use_log_det, gamma=0.05 if use_log_det else 0.0)
    x = torch.randn(6, 3, dtype=torch.float64)
    x[4, 0] = bad
    losses = head.loss((x,), _samples([0, 2, 2, 3, 1, 2]))
    assert not torch.isfinite(head((x,))[4]).any()
    assert not torch.isfinite(losses['loss_icu_cls'])
    assert not torch.isfinite(losses['loss_icu_reg'])


@pytest.mark.parametrize('use_log_det, gamma', [(True, 1e-3), (False, 0.0)])
def test_empty_batch_gives_zero_losses_that_keep_the_graph(use_log_det, gamma):
    """No sample (N = 0) used to raise IndexError (``data_samples[0]``)."""
    head = _head(cal_acc=True, use_log_det=use_log_det, gamma=gamma)
    x = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    losses = head.loss((x,), [])
    assert set(losses) == {'loss_icu_cls', 'loss_icu_reg'}  # no accuracy of nothing
    for value in losses.values():
        assert value.shape == () and value.item() == 0.0 and value.requires_grad
    sum(losses.values()).backward()
    assert x.grad.shape == (0, 3)
    for param in (head.means, head.log_vars):  # every parameter takes part (DDP)
        assert param.grad is not None and torch.all(param.grad == 0)


def test_one_regulariser_scale_default():
    """Both ICU heads default to the mean scale of Eq. 14 (stable from D = 2 to 2048,
    benchmarks/results/icu_reg_scale.md); the sum scale stays an option."""
    import inspect

    from mmext.models.heads.icu_bbox_head import ICUBBoxHead

    defaults = [
        inspect.signature(cls).parameters['reg_reduction'].default
        for cls in (ICUClsHead, ICUBBoxHead)
    ]
    assert defaults == ['mean', 'mean']
    assert ICUClsHead(num_classes=4, in_channels=3, reg_reduction='sum').reg_reduction == 'sum'
