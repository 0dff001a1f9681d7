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
        g1, = torch.autograd.grad(loss, logits)
        g2, = torch.autograd.grad(ref, logits)
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
    assert torch.autograd.gradcheck(lambda x: cls()(x, label), (logits, ))
    assert torch.autograd.gradcheck(
        lambda x: cls(smooth=0.3, class_weight=[0.5, 1.0, 2.0])(x, label, weight=weight),
        (logits, ))
    assert torch.autograd.gradcheck(lambda x: cls(reduction='none')(x, label), (logits, ))
    mostly_ignored = label.clone()
    mostly_ignored[:, 1:] = IGNORE  # > 25 % ignored: the other masking path
    assert torch.autograd.gradcheck(lambda x: cls()(x, mostly_ignored), (logits, ))


@pytest.mark.parametrize('cls,mode', [(SoftDiceLoss, 'dice'), (SoftIoULoss, 'iou')])
def test_options_against_formula(cls, mode):
    logits, label = make_inputs(seed=3)
    cw = [0.1, 1.0, 2.0, 3.0]
    pw = torch.rand(label.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(
        cls(class_weight=cw, smooth=1.0, loss_weight=2.5)(logits, label, weight=pw),
        2.5 * paper_loss(logits, label, mode, cw, 1.0, pw))
    ref = paper_loss(logits, label, mode)
    torch.testing.assert_close(cls(reduction='sum')(logits, label), ref * 2)
    torch.testing.assert_close(cls()(logits, label, avg_factor=4), ref / 2)
    per_class = cls()(logits, label, reduction_override='none')
    assert per_class.shape == (4, )
    torch.testing.assert_close(per_class.sum(), ref)


@pytest.mark.parametrize('cls', [SoftDiceLoss, SoftIoULoss])
def test_ignored_pixels_contribute_nothing(cls):
    logits, label = make_inputs(seed=6)
    loss = cls()(logits, label)
    grad, = torch.autograd.grad(loss, logits)
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
def test_confident_logits_with_absent_classes_give_finite_exact_gradients(
        cls, mode, dtype, gap):
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
    g1, = torch.autograd.grad(loss, logits, retain_graph=True)
    g2, = torch.autograd.grad(loss, logits)
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
    from mmseg.models.decode_heads import FCNHead
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    init_default_scope('mmseg')
    head = FCNHead(
        in_channels=4, channels=4, num_convs=1, num_classes=3,
        loss_decode=[dict(type='mmext.SoftDiceLoss', loss_weight=1.0),
                     dict(type='mmext.SoftIoULoss', loss_weight=0.5)])
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
