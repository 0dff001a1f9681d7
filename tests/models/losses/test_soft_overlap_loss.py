"""Tests of SoftDiceLoss / SoftIoULoss against an independent transcription of Eq. 5."""

import pytest
import torch
import torch.nn.functional as F

from mmext.models.losses.soft_overlap_loss import SoftDiceLoss, SoftIoULoss

IGNORE = 255


def paper_loss(logits, label, mode, class_weight=None, smooth=0.0, pixel_weight=None):
    """Eq. 5 / Algorithm 1 written with explicit one-hot tensors and einsum."""
    n, c = logits.shape[:2]
    p = torch.softmax(logits, dim=1)
    valid = (label != IGNORE).to(logits.dtype)
    if pixel_weight is not None:
        valid = valid * pixel_weight
    safe = torch.where(label == IGNORE, torch.zeros_like(label), label)
    g = F.one_hot(safe, c).permute(0, 3, 1, 2).to(logits.dtype)
    w = valid[:, None]  # ignored pixels enter neither p nor g
    if mode == 'dice':
        inter = torch.einsum('nchw,nchw,nohw->c', 2 * p, g, w)
        union = torch.einsum('nchw,nohw->c', g * g + p * p, w)
    else:
        inter = torch.einsum('nchw,nchw,nohw->c', p, g, w)
        union = torch.einsum('nchw,nohw->c', p + g - p * g, w)
    ratio = (inter + smooth) / (union + smooth)
    if class_weight is not None:
        ratio = ratio * torch.tensor(class_weight, dtype=logits.dtype)
    return -ratio.sum() / n


def paper_loss_loops(logits, label, mode):
    """The same formula with plain Python loops over classes and pixels (tiny inputs)."""
    n, c, h, w = logits.shape
    p = torch.softmax(logits, dim=1)
    total = 0.0
    for k in range(c):
        inter = union = 0.0
        for b in range(n):
            for i in range(h):
                for j in range(w):
                    if int(label[b, i, j]) == IGNORE:
                        continue
                    g = 1.0 if int(label[b, i, j]) == k else 0.0
                    pk = p[b, k, i, j]
                    if mode == 'dice':
                        inter = inter + 2 * pk * g
                        union = union + g * g + pk * pk
                    else:
                        inter = inter + pk * g
                        union = union + pk + g - pk * g
        total = total + inter / union
    return -total / n


def make_inputs(n=2, c=4, h=5, w=6, seed=0, dtype=torch.float64, ignore_frac=0.2):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, h, w, generator=gen, dtype=dtype)
    label = torch.randint(0, c, (n, h, w), generator=gen)
    label[torch.rand(n, h, w, generator=gen) < ignore_frac] = IGNORE
    return logits.requires_grad_(), label


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
def test_value_and_gradient_match_paper_formula(cls, mode):
    for seed in range(3):
        logits, label = make_inputs(seed=seed)
        loss = cls()(logits, label)
        ref = paper_loss(logits, label, mode)
        (g1,) = torch.autograd.grad(loss, logits)
        (g2,) = torch.autograd.grad(ref, logits)
        torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
def test_matches_explicit_loops(cls, mode):
    logits, label = make_inputs(n=2, c=3, h=3, w=3, seed=5)
    torch.testing.assert_close(cls()(logits, label), paper_loss_loops(logits, label, mode))


def test_hand_computed_value():
    # one image, two pixels, two classes; logits 0 -> p = 0.5 everywhere; labels 0, 1
    logits = torch.zeros(1, 2, 1, 2, dtype=torch.float64)
    label = torch.tensor([[[0, 1]]])
    # dice: I_c = 2 * 0.5 = 1, U_c = 1 + 0.25 + 0.25 = 1.5 -> loss = -(2 / 1.5)
    assert SoftDiceLoss()(logits, label).item() == pytest.approx(-4 / 3)
    # iou: I_c = 0.5, U_c = (0.5 + 1 - 0.5) + 0.5 = 1.5 -> loss = -(2 / 3)
    assert SoftIoULoss()(logits, label).item() == pytest.approx(-2 / 3)
    # two identical images: I_c and U_c double (ratio unchanged), then 1/N = 1/2
    two = torch.cat([logits, logits]), torch.cat([label, label])
    assert SoftDiceLoss()(*two).item() == pytest.approx(-(4 / 3) / 2)


@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
def test_gradcheck(cls):
    logits, label = make_inputs(n=2, c=3, h=3, w=4, seed=1)
    weight = torch.rand(2, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert torch.autograd.gradcheck(lambda x: cls()(x, label), (logits,))
    assert torch.autograd.gradcheck(
        lambda x: cls(smooth=0.3, class_weight=[0.5, 1.0, 2.0])(x, label, weight=weight), (logits,)
    )
    assert torch.autograd.gradcheck(lambda x: cls(reduction='none')(x, label), (logits,))
    mostly_ignored = label.clone()
    mostly_ignored[:, 1:] = IGNORE  # > 25 % ignored: the other masking path
    assert torch.autograd.gradcheck(lambda x: cls()(x, mostly_ignored), (logits,))


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
def test_options_against_formula(cls, mode):
    logits, label = make_inputs(seed=3)
    cw = [0.1, 1.0, 2.0, 3.0]
    pw = torch.rand(label.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(
        cls(class_weight=cw, smooth=1.0, loss_weight=2.5)(logits, label, weight=pw),
        2.5 * paper_loss(logits, label, mode, cw, 1.0, pw),
    )
    ref = paper_loss(logits, label, mode)
    torch.testing.assert_close(cls(reduction='sum')(logits, label), ref * 2)
    torch.testing.assert_close(cls()(logits, label, avg_factor=4), ref / 2)
    per_class = cls()(logits, label, reduction_override='none')
    assert per_class.shape == (4,)
    torch.testing.assert_close(per_class.sum(), ref)


@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
def test_ignored_pixels_contribute_nothing(cls):
    logits, label = make_inputs(seed=6)
    loss = cls()(logits, label)
    (grad,) = torch.autograd.grad(loss, logits)
    ignored = (label == IGNORE).unsqueeze(1).expand_as(grad)
    assert ignored.any()
    assert torch.all(grad[ignored] == 0)
    changed = logits.detach().clone()
    changed[ignored] = 100.0 * torch.randn(int(ignored.sum()), dtype=torch.float64)
    torch.testing.assert_close(cls()(changed, label), loss.detach())


@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
def test_absent_classes_contribute_zero_never_nan(cls):
    logits, label = make_inputs(c=5, seed=7, ignore_frac=0.0)
    label = label % 2  # classes 2, 3, 4 absent
    per_class = cls(reduction='none')(logits, label)
    assert torch.all(per_class[2:] == 0)
    # extreme logits: probabilities of absent classes underflow to exactly 0 -> U_c = 0
    extreme = torch.full((1, 3, 2, 2), -1e4, dtype=torch.float32)
    extreme[:, 0] = 1e4
    lab = torch.zeros(1, 2, 2, dtype=torch.long)
    lab[0, 0, 0] = 1
    x = extreme.clone().requires_grad_()
    loss = cls()(x, lab)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    # all pixels ignored: loss 0, gradient 0
    x = torch.randn(2, 3, 2, 2, requires_grad=True)
    loss = cls()(x, torch.full((2, 2, 2), IGNORE))
    loss.backward()
    assert loss.item() == 0 and torch.all(x.grad == 0)


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
@pytest.mark.parametrize('gap', [30.0, 50.0, 60.0, 80.0])
def test_confident_logits_with_absent_classes_give_finite_exact_gradients(cls, mode, dtype, gap):
    # Absent classes get p ~ exp(-gap): U_c^2 underflows in float32 (I_c / U_c^2 would be
    # 0 / 0). Class 0 is absent and is also the placeholder label of the ignored pixels.
    gen = torch.Generator().manual_seed(int(gap))
    label = torch.randint(1, 3, (2, 4, 5), generator=gen)
    label[:, 0, :2] = IGNORE
    base = torch.zeros(2, 4, 4, 5)
    base.scatter_(1, label.clamp(max=3).unsqueeze(1), gap)  # confident, mostly right
    base[:, 1:3] += torch.rand(2, 2, 4, 5, generator=gen)  # the two present classes
    x = base.to(dtype).requires_grad_()
    loss = cls()(x, label)
    loss.backward()
    assert torch.isfinite(x.grad.float()).all()
    ref_x = x.detach().double().requires_grad_()  # the paper transcription, float64
    ref = paper_loss(ref_x, label, mode)
    ref.backward()
    assert torch.isfinite(ref_x.grad).all()
    assert loss.item() == pytest.approx(ref.item(), abs=1e-5)
    torch.testing.assert_close(x.grad.double(), ref_x.grad, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision(cls, mode, dtype):
    logits, label = make_inputs(seed=8, dtype=torch.float32)
    x = (logits.detach() * 30).to(dtype).requires_grad_()
    loss = cls()(x, label)
    loss.backward()
    assert x.grad.dtype == dtype and torch.isfinite(x.grad.float()).all()
    ref = paper_loss(x.detach().double(), label, mode)
    assert loss.item() == pytest.approx(ref.item(), abs=1e-5)


def test_channels_last_and_uint8_labels():
    logits, label = make_inputs(seed=10, dtype=torch.float32)
    x = logits.detach().to(memory_format=torch.channels_last).requires_grad_()
    lab8 = label.to(torch.uint8)
    loss = SoftIoULoss()(x, lab8)
    loss.backward()
    ref = paper_loss(logits.detach().double(), label, 'iou')
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)
    ref_x = logits.detach().double().requires_grad_()
    paper_loss(ref_x, label, 'iou').backward()
    torch.testing.assert_close(x.grad.double(), ref_x.grad, rtol=1e-4, atol=1e-6)


def test_retain_graph_second_backward_matches():
    logits, label = make_inputs(seed=9)
    loss = SoftDiceLoss()(logits, label)
    (g1,) = torch.autograd.grad(loss, logits, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, logits)
    torch.testing.assert_close(g1, g2)


def test_names_and_errors():
    assert SoftDiceLoss().loss_name == 'loss_soft_dice'
    assert SoftIoULoss(loss_name='loss_iou2').loss_name == 'loss_iou2'
    with pytest.raises(ValueError, match='loss_'):
        SoftDiceLoss(loss_name='dice')
    with pytest.raises(ValueError, match='reduction'):
        SoftIoULoss(reduction='avg')
    logits, label = make_inputs()
    with pytest.raises(ValueError, match='labels must lie'):
        SoftDiceLoss()(logits, torch.full_like(label, 7))
    with pytest.raises(ValueError, match='shape'):
        SoftDiceLoss()(logits, label[:, :2])
    with pytest.raises(ValueError, match='class_weight'):
        SoftDiceLoss(class_weight=[1.0])(logits, label)


def test_mmseg_decode_head_integration():
    pytest.importorskip('mmseg')
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.models.decode_heads import FCNHead
    from mmseg.structures import SegDataSample

    init_default_scope('mmseg')
    head = FCNHead(
        in_channels=4,
        channels=4,
        num_convs=1,
        num_classes=3,
        loss_decode=[
            dict(type='mmext.SoftDiceLoss', loss_weight=1.0),
            dict(type='mmext.SoftIoULoss', loss_weight=0.5),
        ],
    )
    feats = [torch.randn(2, 4, 8, 8)]
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 16, 16)))
        s.set_metainfo(dict(img_shape=(16, 16), pad_shape=(16, 16)))
        samples.append(s)
    losses = head.loss(feats, samples, train_cfg=dict())
    assert {'loss_soft_dice', 'loss_soft_iou'} <= set(losses)
    sum(v for k, v in losses.items() if k.startswith('loss_')).backward()


# ---------------------------------------------------------------- per-image reading (Eq. 6)
def paper_terms_per_image(logits, label, mode, class_weight=None, smooth=0.0, pixel_weight=None):
    """Per-image reading, one image at a time: ``-w_c r_nc / N`` as ``(N, C)``, where
    ``r_nc = (I_nc + s) / (U_nc + s)`` from that image's pixels and 0 where ``U_nc = 0``."""
    n, c = logits.shape[:2]
    rows = []
    for j in range(n):
        p = torch.softmax(logits[j], dim=0)  # (C, H, W)
        w = (label[j] != IGNORE).to(logits.dtype)
        if pixel_weight is not None:
            w = w * pixel_weight[j]
        g = F.one_hot(torch.where(label[j] == IGNORE, 0, label[j]), c).permute(2, 0, 1)
        g = g.to(logits.dtype)
        if mode == 'dice':
            inter, union = (2 * p * g * w).sum((1, 2)), ((g * g + p * p) * w).sum((1, 2))
        else:
            inter, union = (p * g * w).sum((1, 2)), ((p + g - p * g) * w).sum((1, 2))
        inter, union = inter + smooth, union + smooth
        ratio = torch.stack(
            [inter[k] / union[k] if union[k] != 0 else union[k] * 0 for k in range(c)]
        )
        if class_weight is not None:
            ratio = ratio * torch.tensor(class_weight, dtype=logits.dtype)
        rows.append(-ratio / n)
    return torch.stack(rows)


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
def test_per_image_matches_per_image_transcription(cls, mode):
    for seed in range(3):
        logits, label = make_inputs(n=3, seed=seed)
        loss = cls(per_image=True)(logits, label)
        ref = paper_terms_per_image(logits, label, mode).sum()
        (g1,) = torch.autograd.grad(loss, logits)
        (g2,) = torch.autograd.grad(ref, logits)
        torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-12)
    # options: class and pixel weights, smooth, loss_weight, ignored pixels
    logits, label = make_inputs(n=3, seed=11)
    cw = [0.1, 1.0, 2.0, 3.0]
    pw = torch.rand(label.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    terms = paper_terms_per_image(logits, label, mode, cw, 0.5, pw)
    torch.testing.assert_close(
        cls(per_image=True, class_weight=cw, smooth=0.5, loss_weight=2.5)(logits, label, weight=pw),
        2.5 * terms.sum(),
    )
    # reduction, reduction_override, avg_factor, loss_name
    ref = paper_terms_per_image(logits, label, mode)
    loss_fn = cls(per_image=True, reduction='none', loss_name='loss_per_image')
    assert loss_fn.loss_name == 'loss_per_image' and 'per_image=True' in repr(loss_fn)
    torch.testing.assert_close(loss_fn(logits, label), ref)  # (N, C)
    torch.testing.assert_close(loss_fn(logits, label, reduction_override='mean'), ref.sum())
    torch.testing.assert_close(loss_fn(logits, label, reduction_override='sum'), ref.sum() * 3)
    torch.testing.assert_close(cls(per_image=True)(logits, label, avg_factor=4), ref.sum() * 3 / 4)


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
def test_per_image_gradient_does_not_shrink_with_batch_size(cls, mode):
    logits, label = make_inputs(n=1, seed=12)
    # one image: both readings are the same formula
    torch.testing.assert_close(cls(per_image=True)(logits, label), cls()(logits, label))
    single = paper_loss(logits, label, mode)
    (g1,) = torch.autograd.grad(single, logits)
    k = 4  # k copies: batch ratios unchanged, so batch reading = single / k, grad g1 / k^2
    x = logits.detach().repeat(k, 1, 1, 1).requires_grad_()
    lab = label.repeat(k, 1, 1)
    per_image, batch = cls(per_image=True)(x, lab), cls()(x, lab)
    torch.testing.assert_close(per_image, single)
    torch.testing.assert_close(batch, single / k)
    (gp,) = torch.autograd.grad(per_image, x)
    (gb,) = torch.autograd.grad(batch, x)
    torch.testing.assert_close(gp, g1.repeat(k, 1, 1, 1) / k)
    torch.testing.assert_close(gb, g1.repeat(k, 1, 1, 1) / k**2)


@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
def test_per_image_gradcheck(cls):
    logits, label = make_inputs(n=3, c=3, h=3, w=4, seed=13)
    weight = torch.rand(3, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert torch.autograd.gradcheck(lambda x: cls(per_image=True)(x, label), (logits,))
    assert torch.autograd.gradcheck(
        lambda x: cls(per_image=True, smooth=0.3, class_weight=[0.5, 1.0, 2.0])(
            x, label, weight=weight
        ),
        (logits,),
    )
    assert torch.autograd.gradcheck(
        lambda x: cls(per_image=True, reduction='none')(x, label), (logits,)
    )
    mostly_ignored = label.clone()
    mostly_ignored[:, 1:] = IGNORE
    mostly_ignored[2] = IGNORE  # one image fully ignored
    assert torch.autograd.gradcheck(lambda x: cls(per_image=True)(x, mostly_ignored), (logits,))


@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
def test_per_image_absent_classes_contribute_zero(cls):
    logits, label = make_inputs(n=3, c=4, seed=14, ignore_frac=0.0)
    label[0] = label[0] % 2  # image 0: classes 0, 1 only
    label[1] = 2 + label[1] % 2  # image 1: classes 2, 3 only
    label[2] = IGNORE  # image 2: every pixel ignored
    terms = cls(per_image=True, reduction='none')(logits, label)
    assert torch.all(terms[0, 2:] == 0) and torch.all(terms[1, :2] == 0)
    assert torch.all(terms[2] == 0) and torch.all(terms[:2].sum(1) < 0)
    (grad,) = torch.autograd.grad(terms.sum(), logits)
    assert torch.all(grad[2] == 0)
    # extreme logits: an absent class's U_nc can be exactly 0 (p underflows to 0)
    x = torch.full((2, 3, 2, 2), -1e4, dtype=torch.float32)
    x[:, 0] = 1e4
    lab = torch.zeros(2, 2, 2, dtype=torch.long)
    lab[1, 0, 0] = 1
    x.requires_grad_()
    loss = cls(per_image=True)(x, lab)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    ref = paper_terms_per_image(x.detach().double(), lab, cls.mode).sum()
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
def test_per_image_confident_float32_and_retain_graph(cls, mode):
    gen = torch.Generator().manual_seed(15)
    label = torch.randint(1, 3, (2, 4, 5), generator=gen)
    label[:, 0, :2] = IGNORE
    base = torch.zeros(2, 4, 4, 5)
    base.scatter_(1, label.clamp(max=3).unsqueeze(1), 50.0)
    base[:, 1:3] += torch.rand(2, 2, 4, 5, generator=gen)
    x = base.requires_grad_()
    loss = cls(per_image=True)(x, label)
    (g1,) = torch.autograd.grad(loss, x, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, x)
    torch.testing.assert_close(g1, g2)
    ref_x = base.detach().double().requires_grad_()
    ref = paper_terms_per_image(ref_x, label, mode).sum()
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), abs=1e-5)
    torch.testing.assert_close(g1.double(), ref_x.grad, rtol=1e-3, atol=1e-6)


# ---------------------------------------------------------------- non-finite logits, N = 0
@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
@pytest.mark.parametrize('value', [float('nan'), float('inf'), float('-inf')])
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32, torch.float16])
def test_non_finite_logits_give_non_finite_loss(cls, value, dtype):
    logits, label = make_inputs(n=3, seed=16)
    clean = logits.detach()
    x = clean.clone().to(dtype)
    x[1, 2, 3, 4] = value  # one logit of image 1
    assert label[1, 3, 4] != IGNORE
    for reduction in ('mean', 'sum'):
        for per_image in (False, True):
            assert not torch.isfinite(cls(per_image=per_image, reduction=reduction)(x, label))
    # 'none', batch reading: every class ratio sums over image 1's pixels
    assert not torch.isfinite(cls(reduction='none')(x, label)).any()
    # 'none', per image: exactly image 1's terms; the others are those of the clean input
    xg = x.clone().requires_grad_()
    terms = cls(per_image=True, reduction='none')(xg, label)
    assert not torch.isfinite(terms[1]).any()
    ref = paper_terms_per_image(clean, label, cls.mode)
    torch.testing.assert_close(
        terms[[0, 2]].double(),
        ref[[0, 2]],
        rtol=1e-3 if dtype == torch.float16 else 1e-6,
        atol=1e-4,
    )
    (grad,) = torch.autograd.grad(terms[[0, 2]].sum(), xg)
    assert torch.isfinite(grad[[0, 2]].float()).all()
    # at an ignored pixel too: a diverged model does not hide behind the ignore mask
    y = clean.clone().to(dtype)
    label2 = label.clone()
    label2[0, 0, 0] = IGNORE
    y[0, 1, 0, 0] = value
    assert not torch.isfinite(cls()(y, label2))
    assert not torch.isfinite(cls(per_image=True, reduction='none')(y, label2)[0]).any()


@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
@pytest.mark.parametrize('per_image', [False, True])
def test_empty_batch_gives_a_zero_that_keeps_the_graph(cls, per_image):
    x = torch.randn(0, 4, 5, 6, requires_grad=True)
    label = torch.zeros(0, 5, 6, dtype=torch.long)
    loss = cls(per_image=per_image)(x, label)
    assert loss.shape == () and loss.item() == 0 and loss.requires_grad
    loss.backward()
    assert x.grad.shape == x.shape
    assert cls(per_image=per_image, reduction='sum')(x, label).item() == 0
    none = cls(per_image=per_image, reduction='none')(x, label)
    assert none.shape == ((0, 4) if per_image else (4,)) and torch.all(none == 0)
    assert cls()(x.detach().half(), label).dtype == torch.float32  # as non-empty half input


def test_per_image_builds_from_the_registry():
    pytest.importorskip('mmseg')
    from mmext.registry import MODELS

    loss = MODELS.build(dict(type='mmext.SoftIoULoss', per_image=True, loss_weight=2.0))
    assert isinstance(loss, SoftIoULoss) and loss.per_image and loss.loss_weight == 2.0


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
@pytest.mark.parametrize('per_image', [False, True])
@pytest.mark.parametrize('weighted', [False, True])
def test_several_pixel_chunks_match_transcription(cls, mode, per_image, weighted):
    """Inputs large enough for several pixel chunks of the class-vectorised passes, with
    class and pixel weights: values and gradients equal the einsum transcription."""
    from mmext.models.losses.soft_overlap_loss import _pixel_chunks

    logits, label = make_inputs(n=2, c=5, h=128, w=256, seed=21)
    assert len(_pixel_chunks((2, 5, 128 * 256), 'cpu')) == 2
    cw = [0.5, 1.0, 2.0, 0.0, 1.5]
    pw = None
    if weighted:
        pw = torch.rand(label.shape, dtype=torch.float64, generator=torch.Generator())
    loss = cls(class_weight=cw, per_image=per_image)(logits, label, weight=pw)
    if per_image:
        ref = paper_terms_per_image(logits, label, mode, cw, 0.0, pw).sum()
    else:
        ref = paper_loss(logits, label, mode, class_weight=cw, pixel_weight=pw)
    (g1,) = torch.autograd.grad(loss, logits)
    (g2,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g1, g2, rtol=1e-9, atol=1e-13)


def test_pixel_chunks_cover_the_pixels_and_do_not_depend_on_classes_on_cuda():
    """Chunks tile the pixel axis; off CPU their number (kernel launches) depends on the
    pixels only (at most 4); on CPU a chunk holds about 2**18 elements (cache-sized)."""
    from mmext.models.losses.soft_overlap_loss import _pixel_chunks

    for shape in [(2, 19, 512 * 1024), (1, 150, 1000), (3, 4, 0), (2, 20, 1)]:
        for device in ('cpu', 'cuda'):
            chunks = _pixel_chunks(shape, device)
            covered = [i for sl in chunks for i in range(sl.start, sl.stop)]
            assert covered == list(range(shape[2]))
    for pixels in (100, 5000, 512 * 1024):
        counts = {len(_pixel_chunks((2, c, pixels), 'cuda')) for c in (2, 20, 150, 1000)}
        assert len(counts) == 1 and counts.pop() <= 4
    assert len(_pixel_chunks((2, 19, 512 * 1024), 'cpu')) == 77  # 6898 pixels per chunk
