"""Tests of mmext.SegFocalLoss (Lin et al. 2017, Eq. 5; TCE paper Sec. 3 Focal baseline).

References used: a per-element float64 loop transcription of the alpha-balanced focal loss
written in this file (math module, no torch ops), and mmseg's ``py_sigmoid_focal_loss``
called directly with a correct (num_pixels, C) one-hot target and ``valid_mask`` (the
function mmseg's ``FocalLoss`` should reach on CPU; its forward's CPU branch is broken).
"""

import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.models.losses.focal_loss import py_sigmoid_focal_loss

from mmext.models.losses import SegFocalLoss
from mmext.models.losses.seg_focal_loss import seg_sigmoid_focal_loss
from mmext.registry import MODELS

IGNORE = 255


def make_inputs(n=2, c=3, h=3, w=4, seed=0, ignore_frac=0.25):
    """float64 logits (N, C, H, W) and labels (N, H, W) with some ignored pixels."""
    g = torch.Generator().manual_seed(seed)
    logits = (3 * torch.randn(n, c, h, w, generator=g, dtype=torch.float64)).requires_grad_()
    label = torch.randint(0, c, (n, h, w), generator=g)
    label[torch.rand(n, h, w, generator=g) < ignore_frac] = IGNORE
    return logits, label


def reference(
    logits,
    label,
    gamma=2.0,
    alpha=0.5,
    class_weight=None,
    weight=None,
    reduction='mean',
    avg_factor=None,
    ignore_index=IGNORE,
):
    """Loop transcription: BCE * alpha_t * (1 - p_t)^gamma per (pixel, class), float64.

    'mean' without avg_factor divides by N*C*H*W (mmseg CUDA path: ``loss.mean()`` of the
    (num_pixels, C) loss with the valid mask folded into the weight).
    """
    x = logits.detach().tolist()
    n_img, n_cls = len(x), len(x[0])
    h, w = len(x[0][0]), len(x[0][0][0])
    out = [[[[0.0] * w for _ in range(h)] for _ in range(n_cls)] for _ in range(n_img)]
    total = 0.0
    for n in range(n_img):
        for i in range(h):
            for j in range(w):
                y = int(label[n, i, j])
                if y == ignore_index:
                    continue
                for c in range(n_cls):
                    t = 1.0 if y == c else 0.0
                    p = 1.0 / (1.0 + math.exp(-x[n][c][i][j]))
                    bce = -(t * math.log(p) + (1 - t) * math.log(1 - p))
                    a = alpha[c] if isinstance(alpha, list) else alpha
                    alpha_t = a if t else 1 - a
                    one_minus_pt = 1 - p if t else p
                    v = bce * alpha_t * one_minus_pt**gamma
                    if class_weight is not None:
                        v *= class_weight[c]
                    if weight is not None:
                        v *= float(weight[n, i, j])
                    out[n][c][i][j] = v
                    total += v
    if reduction == 'none':
        return torch.tensor(out, dtype=torch.float64)
    if reduction == 'sum':
        return torch.tensor(total, dtype=torch.float64)
    if avg_factor is not None:
        return torch.tensor(
            total / (avg_factor + torch.finfo(torch.float32).eps), dtype=torch.float64
        )
    return torch.tensor(total / (n_img * n_cls * h * w), dtype=torch.float64)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
@pytest.mark.parametrize('alpha', [0.25, [0.1, 0.6, 0.3]])
def test_against_transcription(reduction, alpha):
    logits, label = make_inputs(seed=1)
    loss = SegFocalLoss(gamma=2.0, alpha=alpha, reduction=reduction)(logits, label)
    torch.testing.assert_close(loss, reference(logits, label, 2.0, alpha, reduction=reduction))


def test_options_against_transcription():
    logits, label = make_inputs(seed=2, c=4)
    alpha, cw = [0.2, 0.4, 0.1, 0.3], [0.5, 1.0, 2.0, 3.0]
    pw = torch.rand(label.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    mod = SegFocalLoss(gamma=1.5, alpha=alpha, class_weight=cw, loss_weight=2.5)
    torch.testing.assert_close(
        mod(logits, label, weight=pw), 2.5 * reference(logits, label, 1.5, alpha, cw, pw)
    )
    # avg_factor, reduction_override
    torch.testing.assert_close(
        mod(logits, label, weight=pw, avg_factor=7.0),
        2.5 * reference(logits, label, 1.5, alpha, cw, pw, avg_factor=7.0),
    )
    torch.testing.assert_close(
        mod(logits, label, reduction_override='sum'),
        2.5 * reference(logits, label, 1.5, alpha, cw, reduction='sum'),
    )
    torch.testing.assert_close(
        mod(logits, label, avg_factor=7.0, reduction_override='none'),
        2.5 * reference(logits, label, 1.5, alpha, cw, reduction='none'),
    )
    with pytest.raises(ValueError, match='avg_factor'):
        mod(logits, label, avg_factor=7.0, reduction_override='sum')


def test_ignore_index():
    logits, label = make_inputs(seed=4, ignore_frac=0.0)
    label[0, 0] = 7
    mod = SegFocalLoss(alpha=0.3, ignore_index=7)
    torch.testing.assert_close(
        mod(logits, label), reference(logits, label, alpha=0.3, ignore_index=7)
    )
    # the forward argument (what mmseg's decode head passes) wins over the constructor's
    label[0, 0] = 9
    torch.testing.assert_close(
        mod(logits, label, ignore_index=9), reference(logits, label, alpha=0.3, ignore_index=9)
    )
    # ignored pixels change nothing but the 'mean' denominator (N*C*H*W)
    before = mod(logits, label, ignore_index=9, reduction_override='sum')
    with torch.no_grad():
        logits[0, :, 0] = 100.0
    torch.testing.assert_close(mod(logits, label, ignore_index=9, reduction_override='sum'), before)
    none = mod(logits, label, ignore_index=9, reduction_override='none')
    assert bool((none[0, :, 0] == 0).all())
    all_ignored = torch.full_like(label, IGNORE)
    assert mod(logits, all_ignored, ignore_index=IGNORE).item() == 0.0
    assert mod(logits, all_ignored, ignore_index=IGNORE, avg_factor=0).item() == 0.0


def test_label_equal_to_num_classes_is_all_negative_and_others_raise():
    logits, label = make_inputs(seed=5)
    label[1, 2] = 3  # C = 3: negative for every class, as in mmseg's CUDA path
    ref_label = label.clone()
    ref_label[1, 2] = IGNORE
    neg = reference(logits, ref_label, alpha=0.4, reduction='none')
    p = torch.sigmoid(logits.detach()[1, :, 2])
    neg[1, :, 2] = (1 - 0.4) * p**2 * -torch.log(1 - p)  # t = 0 for every class
    torch.testing.assert_close(SegFocalLoss(alpha=0.4, reduction='none')(logits, label), neg)
    label[0, 0, 0] = 4
    with pytest.raises(ValueError, match='labels must lie'):
        SegFocalLoss()(logits, label)
    label[0, 0, 0] = -1
    with pytest.raises(ValueError, match='labels must lie'):
        SegFocalLoss()(logits, label)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
@pytest.mark.parametrize('alpha', [0.25, [0.1, 0.6, 0.3, 0.5]])
def test_matches_mmseg_py_sigmoid_focal_loss(reduction, alpha):
    """Upstream check: mmseg's own focal maths on (num_pixels, C) with a correct one-hot."""
    logits, label = make_inputs(n=2, c=4, h=5, w=6, seed=6)
    cw = [1.0, 0.5, 2.0, 1.5]
    num_classes = logits.shape[1]
    pred = logits.detach().permute(0, 2, 3, 1).reshape(-1, num_classes)
    flat = label.reshape(-1)
    valid_mask = (flat != IGNORE).view(-1, 1)
    flat = torch.where(flat == IGNORE, 0, flat)
    one_hot = torch.nn.functional.one_hot(flat, num_classes + 1)[:, :num_classes]
    for avg_factor in [None, 11.0] if reduction != 'sum' else [None]:
        expected = py_sigmoid_focal_loss(
            pred,
            one_hot,
            None,
            None,
            gamma=2.0,
            alpha=alpha,
            class_weight=cw,
            valid_mask=valid_mask,
            reduction=reduction,
            avg_factor=avg_factor,
        )
        if reduction == 'none':
            expected = expected.reshape(2, 5, 6, num_classes).permute(0, 3, 1, 2)
        got = SegFocalLoss(gamma=2.0, alpha=alpha, class_weight=cw, reduction=reduction)(
            logits, label, avg_factor=avg_factor
        )
        torch.testing.assert_close(got, expected)


def test_gradcheck():
    logits, label = make_inputs(n=2, c=3, h=3, w=4, seed=7)
    logits = (logits.detach() / 3).requires_grad_()  # keep p away from 0/1 for finite diffs
    pw = torch.rand(label.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    assert torch.autograd.gradcheck(lambda x: SegFocalLoss()(x, label), (logits,))
    assert torch.autograd.gradcheck(
        lambda x: SegFocalLoss(
            gamma=1.5, alpha=[0.2, 0.5, 0.7], class_weight=[0.5, 1.0, 2.0], loss_weight=0.7
        )(x, label, weight=pw, avg_factor=5.0),
        (logits,),
    )
    assert torch.autograd.gradcheck(lambda x: SegFocalLoss(reduction='none')(x, label), (logits,))


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_empty_batch(reduction):
    logits = torch.randn(0, 3, 4, 4, requires_grad=True)
    label = torch.zeros(0, 4, 4, dtype=torch.long)
    loss = SegFocalLoss(reduction=reduction)(logits, label)
    assert loss.shape == () and loss.item() == 0.0
    loss.backward()
    assert logits.grad.shape == logits.shape
    none = SegFocalLoss(reduction='none')(logits, label)
    assert none.shape == (0, 3, 4, 4)


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), float('-inf')])
@pytest.mark.parametrize('where', ['valid', 'ignored'])
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_non_finite_logits_give_non_finite_loss(bad, where, reduction):
    logits, label = make_inputs(seed=9, ignore_frac=0.0)
    label[0, 0, 0] = IGNORE if where == 'ignored' else 1
    logits = logits.detach().float()
    for c in range(logits.shape[1]):  # the positive and the negative classes alike
        x = logits.clone()
        x[0, c, 0, 0] = bad
        loss = SegFocalLoss(alpha=[0.2, 0.5, 0.3], reduction=reduction)(x, label)
        assert not torch.isfinite(loss), (bad, where, c)


def test_half_precision_is_computed_in_float32():
    logits, label = make_inputs(seed=10)
    half = logits.detach().half()
    loss = SegFocalLoss(alpha=0.3)(half, label)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, SegFocalLoss(alpha=0.3)(half.float(), label))


def test_builds_from_registry_and_validates():
    init_default_scope('mmseg')
    from mmseg.registry import MODELS as SEG_MODELS

    cfg = dict(type='mmext.SegFocalLoss', gamma=2.0, alpha=[0.2, 0.5, 0.3], loss_weight=1.0)
    loss = SEG_MODELS.build(cfg)
    assert isinstance(loss, SegFocalLoss) and loss.loss_name.startswith('loss_')
    assert loss.loss_name == 'loss_focal' and loss.gamma == 2.0
    assert MODELS.get('SegFocalLoss') is SegFocalLoss
    with pytest.raises(ValueError, match='loss_'):
        SegFocalLoss(loss_name='focal')
    with pytest.raises(ValueError, match='reduction'):
        SegFocalLoss(reduction='avg')
    logits, label = make_inputs(seed=11)
    with pytest.raises(ValueError, match='alpha has 2 entries'):
        SegFocalLoss(alpha=[0.5, 0.5])(logits, label)
    with pytest.raises(ValueError, match='label shape'):
        SegFocalLoss()(logits, label[:, :2])
    with pytest.raises(ValueError, match='weight shape'):
        SegFocalLoss()(logits, label, weight=torch.ones(2, 3))
    # functional form == module form
    torch.testing.assert_close(
        seg_sigmoid_focal_loss(logits, label, alpha=0.3), SegFocalLoss(alpha=0.3)(logits, label)
    )


def plain_autograd_focal(x, label, gamma, alpha, ignore_index=IGNORE):
    """The implementation before issue 30 (autograd of BCE * alpha_t * (1 - p_t)^gamma),
    'none' reduction times the valid mask: the gradient the recomputing Function must match."""
    num_classes = x.shape[1]
    valid = label != ignore_index
    lab = torch.where(valid, label, 0).long()
    bshape = (1, num_classes) + (1,) * (x.dim() - 2)
    target = (lab.unsqueeze(1) == torch.arange(num_classes).view(bshape)).to(x.dtype)
    p = torch.sigmoid(x)
    one_minus_pt = (1 - p) * target + p * (1 - target)
    if isinstance(alpha, list):
        alpha = x.new_tensor(alpha).view(bshape)
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(x, target, reduction='none')
    return bce * alpha_t * one_minus_pt.pow(gamma) * valid.unsqueeze(1)


@pytest.mark.parametrize('gamma', [2.0, 1.5, 0.0])
@pytest.mark.parametrize('alpha', [0.25, [0.1, 0.6, 0.3]])
def test_recomputing_function_matches_plain_autograd_gradient(gamma, alpha):
    """SigmoidFocalFunction (saves logits + labels, closed-form backward): float64 gradcheck,
    and value and gradient equal to autograd through the plain formula (label C included)."""
    logits, label = make_inputs(n=2, c=3, h=4, w=5, seed=11)
    label[1, 0, :2] = 3  # the label C: negative for every class
    upstream = torch.rand(logits.shape, dtype=torch.float64, generator=torch.Generator())
    loss = SegFocalLoss(gamma=gamma, alpha=alpha, reduction='none')(logits, label)
    (got,) = torch.autograd.grad((loss * upstream).sum(), logits)
    ref = plain_autograd_focal(logits, label, gamma, alpha)
    (want,) = torch.autograd.grad((ref * upstream).sum(), logits)
    torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    x = (logits.detach() / 3).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda v: SegFocalLoss(gamma=gamma, alpha=alpha, reduction='none')(v, label), (x,)
    )


def _saved_bytes(fn):
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


def test_cpu_path_saves_at_most_twice_the_logits():
    """Issue 30: the plain formula kept ~8x the logits for backward; the recomputing Function
    keeps the logits, the labels and the (N, 1, H, W) pixel weight."""
    g = torch.Generator().manual_seed(12)
    logits = torch.randn(2, 19, 16, 32, generator=g, requires_grad=True)
    label = torch.randint(0, 19, (2, 16, 32), generator=g)
    label[0, :4] = IGNORE
    alpha = torch.softmax(torch.randn(19, generator=g), 0).tolist()
    logit_bytes = logits.numel() * 4
    ours = _saved_bytes(lambda: SegFocalLoss(alpha=alpha)(logits, label)) / logit_bytes
    plain = _saved_bytes(lambda: plain_autograd_focal(logits, label, 2.0, alpha).mean())
    ce = _saved_bytes(lambda: torch.nn.functional.cross_entropy(logits, label, ignore_index=IGNORE))
    assert ours <= 2.0
    assert plain / logit_bytes > 6.0 and ce / logit_bytes > 1.0  # the measure sees them


def fake_mmcv_sigmoid_focal_loss(input, target, gamma, alpha, weight, reduction):
    """mmcv's ``sigmoid_focal_loss`` kernel (``sigmoid_focal_loss_cuda_kernel.cuh``) written
    with torch ops: ``-alpha (1-p)^gamma log(max(p, FLT_MIN))`` at the target class,
    ``-(1-alpha) p^gamma log(max(1-p, FLT_MIN))`` elsewhere (target C: no class)."""
    assert input.dim() == 2 and target.dtype == torch.long and input.is_contiguous()
    assert weight is None and reduction == 'none'
    p = torch.sigmoid(input)
    t = (target.unsqueeze(1) == torch.arange(input.shape[1])).to(input.dtype)
    tiny = torch.finfo(input.dtype).tiny
    term_p = (1 - p).pow(gamma) * torch.log(p.clamp_min(tiny))
    term_n = p.pow(gamma) * torch.log((1 - p).clamp_min(tiny))
    return -t * alpha * term_p - (1 - t) * (1 - alpha) * term_n


@pytest.mark.parametrize('alpha', [0.25, [0.1, 0.6, 0.3]])
@pytest.mark.parametrize('reduction', ['mean', 'none'])
def test_mmcv_cuda_op_path_with_a_transcribed_kernel(alpha, reduction, monkeypatch):
    """The glue of the CUDA path (layout, per-class alpha from two op calls, label C, ignored
    pixels, weights, reduction), with mmcv's CUDA kernel replaced by its transcription: no
    GPU here, so mmcv's real op is not run by this test."""
    from mmext.models.losses import seg_focal_loss as module

    logits, label = make_inputs(n=2, c=3, h=4, w=5, seed=13)
    label[1, 0, :2] = 3
    pw = torch.rand(label.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    mod = SegFocalLoss(gamma=1.5, alpha=alpha, class_weight=[0.5, 1.0, 2.0], reduction=reduction)
    want = mod(logits, label, weight=pw)
    (want_grad,) = torch.autograd.grad(want.sum(), logits)
    calls = []

    def op(*args):
        calls.append(args[3])
        return fake_mmcv_sigmoid_focal_loss(*args)

    monkeypatch.setattr(module, '_use_mmcv_op', lambda x: True)
    monkeypatch.setattr(module, '_mmcv_sigmoid_focal_loss', lambda: op)
    got = mod(logits, label, weight=pw)
    (got_grad,) = torch.autograd.grad(got.sum(), logits)
    assert calls == ([1.0, 0.0] if isinstance(alpha, list) else [0.25])
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(got_grad, want_grad)


def test_mmcv_op_only_for_cuda_logits_and_flavour_read_once(monkeypatch):
    from mmext.models.losses import seg_focal_loss as module
    from mmext.utils import mmcv_ops

    reads = []

    def flavour(with_archs):
        reads.append(with_archs)
        return mmcv_ops.OpsFlavour('cuda', '13.0')

    monkeypatch.setattr(mmcv_ops, 'mmcv_ops_flavour', flavour)
    module._mmcv_has_cuda_ops.cache_clear()
    try:
        assert not module._use_mmcv_op(torch.zeros(1))  # CPU logits: never the mmcv op
        assert reads == []
        assert module._mmcv_has_cuda_ops() is True and module._mmcv_has_cuda_ops() is True
        assert reads == [False]  # read once, without cuobjdump
        monkeypatch.setattr(torch.Tensor, 'is_cuda', property(lambda self: True))
        assert module._use_mmcv_op(torch.zeros(1))
    finally:
        module._mmcv_has_cuda_ops.cache_clear()


def test_half_logits_get_a_half_gradient():
    logits, label = make_inputs(seed=14)
    half = logits.detach().half().requires_grad_()
    SegFocalLoss(alpha=[0.2, 0.5, 0.3])(half, label).backward()
    ref = logits.detach().half().float().requires_grad_()
    SegFocalLoss(alpha=[0.2, 0.5, 0.3])(ref, label).backward()
    assert half.grad.dtype == torch.float16
    torch.testing.assert_close(half.grad.float(), ref.grad, rtol=1e-3, atol=1e-5)
