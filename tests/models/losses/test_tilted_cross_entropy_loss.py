"""Tests of TiltedCrossEntropyLoss against per-image transcriptions of Eqs. 2 and 3."""

import math

import pytest
import torch
import torch.nn.functional as F

from mmext.models.losses.tilted_cross_entropy_loss import (
    TiltedCrossEntropyLoss,
    tilted_cross_entropy,
)

IGNORE = 255


def eq2_reference(pred, label, t, class_weight=None):
    """Eq. 2 with explicit loops: (1/t) log((1/M) sum_m exp(t L_m))."""
    losses = []
    for m in range(pred.shape[0]):
        logp = torch.log_softmax(pred[m], dim=0)
        num, den = 0.0, 0.0
        for c in range(pred.shape[1]):
            mask = label[m] == c
            if mask.any():
                w = 1.0 if class_weight is None else class_weight[c]
                num = num + w * (-logp[c][mask]).sum()
                den = den + w * mask.sum()
        if den > 0:
            losses.append(num / den)
    losses = torch.stack(losses)
    if t == 0:
        return losses.mean()
    return torch.log(torch.exp(t * losses).mean()) / t


def eq3_reference(pred, label, t, class_weight=None):
    """Eq. 3 with explicit loops over images and present classes."""
    per_image = []
    for m in range(pred.shape[0]):
        logp = torch.log_softmax(pred[m], dim=0)
        cls_losses, ws = [], []
        for c in range(pred.shape[1]):
            mask = label[m] == c
            w = 1.0 if class_weight is None else class_weight[c]
            if mask.any() and w > 0:
                cls_losses.append((-logp[c][mask]).mean())
                ws.append(w)
        if not cls_losses:
            continue
        lc = torch.stack(cls_losses)
        wt = torch.tensor(ws, dtype=pred.dtype)
        if t == 0:
            per_image.append((wt * lc).sum() / wt.sum())
        else:
            per_image.append(torch.log((wt * torch.exp(t * lc)).sum() / wt.sum()) / t)
    return torch.stack(per_image).mean()


REFS = {'image': eq2_reference, 'class': eq3_reference}


def make_batch(seed=0, n=3, c=5, h=6, w=7, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    pred = (2 * torch.randn(n, c, h, w, generator=g)).to(dtype)
    label = torch.randint(0, c, (n, h, w), generator=g)
    label[0, :2] = IGNORE  # partly ignored image
    if n >= 2:
        label[1][label[1] == 3] = 1  # class 3 absent from image 1
    if n >= 3:
        label[-1] = IGNORE  # image without valid pixels: left out
    return pred, label


@pytest.mark.parametrize('level', ['image', 'class'])
@pytest.mark.parametrize('t', [1.0, 0.1, 3.0, -1.0, -0.5, 0.0])
def test_value_and_grad_match_equations(level, t):
    pred, label = make_batch()
    p1 = pred.clone().requires_grad_(True)
    p2 = pred.clone().requires_grad_(True)
    loss = TiltedCrossEntropyLoss(tilt=t, level=level)(p1, label, ignore_index=IGNORE)
    ref = REFS[level](p2, label, t)
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-12)
    loss.backward()
    ref.backward()
    torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize('level', ['image', 'class'])
@pytest.mark.parametrize('t', [2.0, -1.5])
def test_gradcheck_float64(level, t):
    pred, label = make_batch(seed=1, n=3, c=4, h=3, w=4)
    pred.requires_grad_(True)
    cw = torch.tensor([1.0, 0.5, 2.0, 0.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda p: tilted_cross_entropy(p, label, t, level, ignore_index=IGNORE), (pred,)
    )
    assert torch.autograd.gradcheck(
        lambda p: tilted_cross_entropy(p, label, t, level, class_weight=cw, ignore_index=IGNORE),
        (pred,),
    )


@pytest.mark.parametrize('level', ['image', 'class'])
def test_class_weight_matches_equations(level):
    pred, label = make_batch(seed=2)
    cw = [1.0, 0.5, 2.0, 0.0, 3.0]
    loss = TiltedCrossEntropyLoss(tilt=0.7, level=level, class_weight=cw)(
        pred, label, ignore_index=IGNORE
    )
    torch.testing.assert_close(loss, REFS[level](pred, label, 0.7, cw))


def test_single_image_is_torch_weighted_cross_entropy():
    # with one image Eq. 2 is L_1 for every t: torch's (class-weighted) mean CE
    pred, label = make_batch(seed=3, n=1)
    label[0, 0, :3] = IGNORE
    cw = torch.tensor([1.0, 0.5, 2.0, 1.5, 3.0], dtype=torch.float64)
    expected = F.cross_entropy(pred, label, weight=cw, ignore_index=IGNORE)
    for t in (5.0, -3.0, 0.0):
        got = tilted_cross_entropy(pred, label, t, 'image', class_weight=cw, ignore_index=IGNORE)
        torch.testing.assert_close(got, expected)


def test_small_tilt_tends_to_erm_and_matches_mmseg():
    from mmseg.models.losses import CrossEntropyLoss

    g = torch.Generator().manual_seed(4)
    pred = torch.randn(4, 6, 8, 8, generator=g)  # float32
    label = torch.randint(0, 6, (4, 8, 8), generator=g)
    # equal numbers of valid pixels per image: mean of L_m == mean over all pixels
    erm = CrossEntropyLoss(avg_non_ignore=True)(pred, label, ignore_index=IGNORE)
    for t in (1e-4, 1e-7, 1e-10, -1e-10, 0.0):
        got = TiltedCrossEntropyLoss(tilt=t, level='image')(pred, label, ignore_index=IGNORE)
        torch.testing.assert_close(got, erm, rtol=2e-5, atol=1e-6)
    # and the tilt moves the value monotonically away from it (Jensen)
    hi = TiltedCrossEntropyLoss(tilt=1.0)(pred, label, ignore_index=IGNORE)
    lo = TiltedCrossEntropyLoss(tilt=-1.0)(pred, label, ignore_index=IGNORE)
    assert lo < erm < hi


def test_small_tilt_class_level_tends_to_mean_of_class_means():
    # Eq. 3 as t -> 0: the mean over images of the mean over present classes of L_{m,c}
    pred, label = make_batch(seed=8, dtype=torch.float64)
    ce = F.cross_entropy(pred, label, ignore_index=IGNORE, reduction='none')
    per_image = []
    for m in range(pred.shape[0]):
        means = [ce[m][label[m] == c].mean() for c in range(pred.shape[1]) if (label[m] == c).any()]
        if means:  # the all-ignored image is left out
            per_image.append(torch.stack(means).mean())
    erm = torch.stack(per_image).mean()
    for t in (1e-3, 1e-6, 1e-9, -1e-9, 0.0):
        got = tilted_cross_entropy(pred, label, t, 'class', ignore_index=IGNORE)
        # first-order term of the tilted mean is t/2 * variance: O(t)
        torch.testing.assert_close(got, erm, rtol=0, atol=max(abs(t), 1e-14) * 10)
    # float32 keeps the limit to float precision (no cancellation in expm1/log1p)
    got32 = tilted_cross_entropy(pred.float(), label, 1e-12, 'class', ignore_index=IGNORE)
    torch.testing.assert_close(got32, erm.float(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_half_precision_logits_give_float32_loss(dtype):
    pred, label = make_batch(seed=9, dtype=torch.float32)
    half = pred.to(dtype).requires_grad_(True)
    for level in ('image', 'class'):
        loss = tilted_cross_entropy(half, label, 1.0, level, ignore_index=IGNORE)
        assert loss.dtype == torch.float32
        ref = REFS[level](half.detach().double(), label, 1.0)
        # per-pixel CE is computed in the half dtype, the tables in float32
        torch.testing.assert_close(loss.double(), ref, rtol=2e-2, atol=2e-2)
        (grad,) = torch.autograd.grad(loss, half)
        assert grad.dtype == dtype and torch.isfinite(grad.float()).all()


@pytest.mark.parametrize('level', ['image', 'class'])
def test_large_tilt_is_finite_and_tends_to_max(level):
    pred, label = make_batch(seed=5, dtype=torch.float32)
    pred = (pred * 30).requires_grad_(True)  # CE of tens: exp(1e4 * L) overflows any float
    t = 1e4
    loss = tilted_cross_entropy(pred, label, t, level, ignore_index=IGNORE)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
    p64 = pred.detach().double()
    ce = F.cross_entropy(p64, label, ignore_index=IGNORE, reduction='none')
    if level == 'image':  # (1/t) log((1/M) sum exp(t L_m)) in [max - log(M)/t, max]
        per = torch.stack([ce[m][label[m] != IGNORE].mean() for m in range(2)])
        hi, lo = per.max(), per.max() - math.log(2) / t
    else:  # per image: in [max_c L_mc - log(K_m)/t, max_c L_mc]
        maxes = torch.stack(
            [
                torch.stack(
                    [ce[m][label[m] == c].mean() for c in range(5) if (label[m] == c).any()]
                ).max()
                for m in range(2)
            ]
        )
        hi, lo = maxes.mean(), maxes.mean() - math.log(5) / t
    assert lo - 1e-3 <= loss.double() <= hi + 1e-3


def test_no_valid_pixel_gives_connected_zero():
    pred = torch.randn(2, 3, 4, 4, requires_grad=True)
    label = torch.full((2, 4, 4), IGNORE)
    for level in ('image', 'class'):
        loss = TiltedCrossEntropyLoss(tilt=1.0, level=level)(pred, label, ignore_index=IGNORE)
        assert loss.item() == 0.0
        (grad,) = torch.autograd.grad(loss, pred)
        assert torch.equal(grad, torch.zeros_like(pred))


def test_reductions_avg_factor_and_loss_weight():
    pred, label = make_batch(seed=6)
    valid_m = 2  # the last image has no valid pixel
    mean_cls = tilted_cross_entropy(pred, label, 1.0, 'class', ignore_index=IGNORE)
    per_img = tilted_cross_entropy(pred, label, 1.0, 'class', reduction='none', ignore_index=IGNORE)
    assert per_img.shape == (3,) and per_img[-1] == 0
    torch.testing.assert_close(per_img.sum() / valid_m, mean_cls)
    torch.testing.assert_close(
        tilted_cross_entropy(pred, label, 1.0, 'class', reduction='sum', ignore_index=IGNORE),
        per_img.sum(),
    )
    torch.testing.assert_close(
        tilted_cross_entropy(pred, label, 1.0, 'class', avg_factor=4, ignore_index=IGNORE),
        per_img.sum() / 4,
    )
    # image level: avg_factor replaces M inside the log
    lm = torch.stack(
        [
            F.cross_entropy(pred[m : m + 1], label[m : m + 1], ignore_index=IGNORE)
            for m in range(valid_m)
        ]
    )
    torch.testing.assert_close(
        tilted_cross_entropy(pred, label, 2.0, 'image', avg_factor=5, ignore_index=IGNORE),
        torch.log(torch.exp(2.0 * lm).sum() / 5) / 2.0,
    )
    torch.testing.assert_close(
        tilted_cross_entropy(pred, label, 2.0, 'image', reduction='sum', ignore_index=IGNORE),
        valid_m * torch.log(torch.exp(2.0 * lm).mean()) / 2.0,
    )
    loss = TiltedCrossEntropyLoss(tilt=2.0, loss_weight=0.4)(pred, label, ignore_index=IGNORE)
    torch.testing.assert_close(loss, 0.4 * torch.log(torch.exp(2.0 * lm).mean()) / 2.0)


def test_pixel_weight_and_constructor_ignore_index():
    pred, label = make_batch(seed=7, n=2)
    weight = torch.rand(label.shape, dtype=torch.float64)
    loss = tilted_cross_entropy(pred, label, 1.0, 'image', weight=weight, ignore_index=IGNORE)
    ce = F.cross_entropy(pred, label, ignore_index=IGNORE, reduction='none') * weight
    lm = torch.stack(
        [ce[m][label[m] != IGNORE].sum() / (label[m] != IGNORE).sum() for m in range(2)]
    )
    torch.testing.assert_close(loss, torch.log(torch.exp(lm).mean()))
    # an ignore_index given to the constructor wins over the head's
    label2 = label.clone()
    label2[label == IGNORE] = 4
    a = TiltedCrossEntropyLoss(ignore_index=4)(pred, label2, ignore_index=IGNORE)
    b = REFS['image'](pred, torch.where(label2 == 4, IGNORE, label2), 1.0)
    torch.testing.assert_close(a, b)


def test_errors_are_clear():
    pred, label = make_batch()
    with pytest.raises(ValueError, match='level'):
        TiltedCrossEntropyLoss(level='pixel')
    with pytest.raises(ValueError, match='undefined'):
        TiltedCrossEntropyLoss(level='image', reduction='none')
    with pytest.raises(ValueError, match='undefined'):
        TiltedCrossEntropyLoss(level='image')(pred, label, reduction_override='none')
    with pytest.raises(ValueError, match='finite'):
        TiltedCrossEntropyLoss(tilt=float('inf'))
    with pytest.raises(ValueError, match='loss_'):
        TiltedCrossEntropyLoss(loss_name='tce')
    with pytest.raises(ValueError, match='class_weight has 2'):
        TiltedCrossEntropyLoss(class_weight=[1.0, 2.0])(pred, label, ignore_index=IGNORE)
    with pytest.raises(ValueError, match='expected pred'):
        TiltedCrossEntropyLoss()(pred, label[:, :3], ignore_index=IGNORE)
    with pytest.raises(ValueError, match='avg_factor'):
        tilted_cross_entropy(pred, label, 1.0, reduction='sum', avg_factor=2.0)


def test_all_zero_class_weight_is_refused():
    """Every pixel would get weight 0: a loss of 0 with zero gradients, training silently."""
    pred, label = make_batch(seed=8)
    for level in ('image', 'class'):  # what it used to do
        silent = tilted_cross_entropy(
            pred.requires_grad_(),
            label,
            1.0,
            level,
            class_weight=torch.zeros(5, dtype=pred.dtype),
            ignore_index=IGNORE,
        )
        (grad,) = torch.autograd.grad(silent, pred)
        assert silent.item() == 0 and not grad.any()
    for weights in ([0.0] * 5, [0, 0, 0, 0, 0], torch.zeros(5).numpy()):
        with pytest.raises(ValueError, match='class_weight is all zero'):
            TiltedCrossEntropyLoss(class_weight=weights)
    assert TiltedCrossEntropyLoss(class_weight=[0, 0, 1, 0, 0]).class_weight == [
        0.0,
        0.0,
        1.0,
        0.0,
        0.0,
    ]


@pytest.mark.parametrize('ext', ['json', 'yaml', 'pkl'])
def test_class_weight_files(tmp_path, ext):
    from mmengine.fileio import dump

    good = str(tmp_path / f'good.{ext}')
    dump([0.5, 1.0, 2.0], good)
    assert TiltedCrossEntropyLoss(class_weight=good).class_weight == [0.5, 1.0, 2.0]
    as_dict = str(tmp_path / f'dict.{ext}')  # e.g. the output of an analysis script
    dump(dict(classes=['a', 'b', 'c'], weights=[0.5, 1.0, 2.0]), as_dict)
    with pytest.raises(
        ValueError,
        match=f'class_weight \\(read from {as_dict}\\) is a dict '
        r"with keys \['classes', 'weights'\]; expected a list",
    ):
        TiltedCrossEntropyLoss(class_weight=as_dict)
    zeros = str(tmp_path / f'zeros.{ext}')
    dump([0, 0, 0], zeros)
    with pytest.raises(ValueError, match=f'read from {zeros}.* is all zero'):
        TiltedCrossEntropyLoss(class_weight=zeros)
    words = str(tmp_path / f'words.{ext}')
    dump(['a', 'b'], words)
    with pytest.raises(ValueError, match='one number per class'):
        TiltedCrossEntropyLoss(class_weight=words)


def test_class_weight_npy_file_and_bad_values(tmp_path):
    import numpy as np

    path = str(tmp_path / 'w.npy')
    np.save(path, np.array([1.0, 3.0]))
    assert TiltedCrossEntropyLoss(class_weight=path).class_weight == [1.0, 3.0]
    with pytest.raises(ValueError, match='finite and non-negative'):
        TiltedCrossEntropyLoss(class_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match='finite and non-negative'):
        TiltedCrossEntropyLoss(class_weight=[1.0, float('nan')])


def test_drop_in_for_mmseg_decode_head():
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
        loss_decode=dict(type='mmext.TiltedCrossEntropyLoss', tilt=0.5, level='class'),
    )
    assert head.loss_decode.loss_name == 'loss_tce'
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 16, 16)))
        samples.append(s)
    losses = head.loss([torch.randn(2, 4, 8, 8)], samples, dict())
    assert torch.isfinite(losses['loss_tce'])
    losses['loss_tce'].backward()


@pytest.mark.parametrize('level', ['image', 'class'])
@pytest.mark.parametrize('t', [1.0, -1.0, 0.0])
@pytest.mark.parametrize(
    'bad, where',
    [
        (float('nan'), 'true_class'),
        (float('nan'), 'other_class'),
        (float('inf'), 'true_class'),
        (float('inf'), 'other_class'),
        (-float('inf'), 'true_class'),  # CE = +inf
        (-3e38, 'true_class'),  # finite float32 logits whose CE overflows to +inf
    ],
)
def test_non_finite_logit_gives_non_finite_loss(level, t, bad, where):
    """A NaN / +inf logit of a valid pixel (CE = NaN), or a pixel whose CE is +inf, never
    gives a finite loss. With t < 0 the tilted mean used to weight an infinite CE by
    e^{-inf} = 0 and return a finite value."""
    pred, label = make_batch(dtype=torch.float32)
    row, col = 3, 4  # a valid pixel of image 0
    true = int(label[0, row, col])
    assert true != IGNORE
    cls = true if where == 'true_class' else (true + 1) % pred.size(1)
    pred[0, cls, row, col] = bad
    if bad == -3e38:
        pred[0, (true + 1) % pred.size(1), row, col] = 3e38
    loss_fn = TiltedCrossEntropyLoss(tilt=t, level=level)
    assert not torch.isfinite(loss_fn(pred, label, ignore_index=IGNORE))
    assert not torch.isfinite(loss_fn(pred, label, ignore_index=IGNORE, reduction_override='sum'))
    if level == 'class':
        per_image = loss_fn(pred, label, ignore_index=IGNORE, reduction_override='none')
        assert not torch.isfinite(per_image[0]) and torch.isfinite(per_image[1:]).all()


def test_out_of_range_labels_raise_with_range_and_value():
    """Issue 26: label 50 gave ``IndexError: Target 50 is out of bounds``."""
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 4, 4)
    label = torch.randint(0, 3, (2, 4, 4))
    label[0, :2] = 50
    label[1, 0, 0] = IGNORE
    for level in ('image', 'class'):
        loss = TiltedCrossEntropyLoss(level=level)
        with pytest.raises(ValueError, match=r'\[0, 3\) or equal ignore_index=255.*\[50\]'):
            loss(pred, label, ignore_index=IGNORE)
        with pytest.raises(ValueError, match=r'ignore_index=-100.*\[50, 255\]'):
            loss(pred, label)  # 255 is not ignored by default either
        with pytest.raises(ValueError, match=r'\[-3\]'):
            tilted_cross_entropy(pred, torch.full((2, 4, 4), -3), 1.0, level=level)
        label_ok = torch.where(label == 50, torch.full_like(label, IGNORE), label)
        assert torch.isfinite(loss(pred, label_ok, ignore_index=IGNORE))


def test_non_finite_and_bool_hyper_parameters_are_rejected():
    """Issue 26: every float hyper-parameter is checked (NaN slips through ``x < 0``)."""
    for tilt in (float('nan'), float('inf'), -float('inf')):
        with pytest.raises(ValueError, match='invalid tilt=.*finite'):
            TiltedCrossEntropyLoss(tilt=tilt)
    with pytest.raises(ValueError, match='invalid loss_weight=nan'):
        TiltedCrossEntropyLoss(loss_weight=float('nan'))
    with pytest.raises(TypeError, match='invalid tilt=True'):
        TiltedCrossEntropyLoss(tilt=True)
    assert TiltedCrossEntropyLoss(tilt=-2).tilt == -2.0
