"""Tests of mmext.LabelSmoothCrossEntropyLoss (Bag of Freebies, section 3.2, Eq. 3).

References used: mmdet's ``CrossEntropyLoss`` (label_smooth_val = 0), a direct transcription
of Eq. 3 + Eq. 2 in this file, torch's ``F.cross_entropy(label_smoothing=...)`` and mmdet's
``YOLOV3Head(one_hot_smoother=...)``.
"""

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses import CrossEntropyLoss
from mmengine.registry import init_default_scope

from mmext.models.losses.label_smooth_cross_entropy_loss import LabelSmoothCrossEntropyLoss


def eq3_softmax_loss(logits, labels, eps, class_weight=None, hard_rows=None):
    """Row losses -sum_i q'_i log p_i with q' of Eq. 3 (independent transcription)."""
    num = logits.size(1)
    q = F.one_hot(labels, num).to(logits.dtype)
    q_smooth = (1 - eps) * q + eps / num
    if hard_rows is not None:
        q_smooth = torch.where(hard_rows[:, None], q, q_smooth)
    logp = torch.log(torch.softmax(logits, dim=1))
    w = torch.ones(num, dtype=logits.dtype) if class_weight is None else class_weight
    return -(w * q_smooth * logp).sum(dim=1)


def bce(logits, targets):
    """Element-wise binary cross entropy -[t log s + (1 - t) log(1 - s)] (transcription)."""
    s = torch.sigmoid(logits)
    return -(targets * torch.log(s) + (1 - targets) * torch.log(1 - s))


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmdet')


# --------------------------------------------------------------------------- eps = 0 == mmdet
@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
@pytest.mark.parametrize('use_weight', [False, True])
@pytest.mark.parametrize('class_weight', [None, [0.5, 1.0, 2.0, 1.5, 0.7]])
def test_eps0_softmax_equals_mmdet(reduction, use_weight, class_weight):
    torch.manual_seed(0)
    logits = torch.randn(12, 5)
    labels = torch.randint(0, 5, (12,))
    weight = torch.rand(12) if use_weight else None
    ours = LabelSmoothCrossEntropyLoss(0.0, reduction=reduction, class_weight=class_weight)
    ref = CrossEntropyLoss(reduction=reduction, class_weight=class_weight)
    torch.testing.assert_close(
        ours(logits, labels, weight), ref(logits, labels, weight), rtol=0, atol=0
    )


def test_eps0_softmax_avg_factor_ignore_override():
    torch.manual_seed(1)
    logits = torch.randn(10, 4, 3, 3)  # mmseg-style dense logits
    labels = torch.randint(0, 4, (10, 3, 3))
    labels[0, 0] = 255
    weight = torch.rand(10, 3, 3)
    kwargs = dict(ignore_index=255, avg_non_ignore=True, loss_weight=2.0)
    ours = LabelSmoothCrossEntropyLoss(0.0, **kwargs)
    ref = CrossEntropyLoss(**kwargs)
    torch.testing.assert_close(ours(logits, labels, weight), ref(logits, labels, weight))
    torch.testing.assert_close(
        ours(logits, labels, weight, avg_factor=7.0), ref(logits, labels, weight, avg_factor=7.0)
    )
    torch.testing.assert_close(
        ours(logits, labels, reduction_override='sum'),
        ref(logits, labels, reduction_override='sum'),
    )
    labels2 = labels.clone()
    labels2[labels2 == 255] = 2
    torch.testing.assert_close(
        ours(logits, labels2, ignore_index=2), ref(logits, labels2, ignore_index=2)
    )


def test_eps0_softmax_float_targets_equal_mmdet():
    torch.manual_seed(2)
    logits = torch.randn(6, 4)
    targets = torch.softmax(torch.randn(6, 4), dim=1)
    ours = LabelSmoothCrossEntropyLoss(0.0)
    ref = CrossEntropyLoss()
    torch.testing.assert_close(ours(logits, targets), ref(logits, targets), rtol=0, atol=0)


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
@pytest.mark.parametrize('class_weight', [None, [1.0, 2.0, 0.5]])
def test_eps0_sigmoid_integer_labels_equal_mmdet(reduction, class_weight):
    torch.manual_seed(3)
    logits = torch.randn(9, 3)
    labels = torch.tensor([0, 1, 2, 3, 3, 1, -1, 0, 2])  # 3 = background, -1 ignored
    weight = torch.rand(9)
    # -1 is ignored only as ignore_index: other labels outside [0, 3] raise (issue 26)
    ours = LabelSmoothCrossEntropyLoss(
        0.0, use_sigmoid=True, reduction=reduction, class_weight=class_weight, ignore_index=-1
    )
    ref = CrossEntropyLoss(
        use_sigmoid=True, reduction=reduction, class_weight=class_weight, ignore_index=-1
    )
    torch.testing.assert_close(ours(logits, labels), ref(logits, labels), rtol=0, atol=0)
    torch.testing.assert_close(
        ours(logits, labels, weight), ref(logits, labels, weight), rtol=0, atol=0
    )


def test_eps0_sigmoid_float_targets_equal_mmdet_yolo_style():
    torch.manual_seed(4)
    logits = torch.randn(2, 7, 4)
    targets = torch.zeros(2, 7, 4)
    targets[0, 1, 2] = 1
    targets[1, 3, 0] = 1
    pos = targets.sum(-1, keepdim=True)
    for reduction in ('sum', 'mean', 'none'):
        ours = LabelSmoothCrossEntropyLoss(0.0, use_sigmoid=True, reduction=reduction)
        ref = CrossEntropyLoss(use_sigmoid=True, reduction=reduction)
        torch.testing.assert_close(
            ours(logits, targets, weight=pos), ref(logits, targets, weight=pos), rtol=0, atol=0
        )
    ours = LabelSmoothCrossEntropyLoss(0.0, use_sigmoid=True, avg_non_ignore=True)
    ref = CrossEntropyLoss(use_sigmoid=True, avg_non_ignore=True)
    torch.testing.assert_close(ours(logits, targets), ref(logits, targets))


def test_eps0_sigmoid_1d_equals_mmdet():
    torch.manual_seed(5)
    logits = torch.randn(11)
    targets = (torch.rand(11) > 0.5).float()
    weight = torch.rand(11)
    for reduction in ('sum', 'mean', 'none'):
        ours = LabelSmoothCrossEntropyLoss(0.0, use_sigmoid=True, reduction=reduction)
        ref = CrossEntropyLoss(use_sigmoid=True, reduction=reduction)
        torch.testing.assert_close(ours(logits, targets, weight), ref(logits, targets, weight))


# --------------------------------------------------------------------------- eps > 0 == Eq. 3
@pytest.mark.parametrize('eps', [0.1, 0.3])
def test_softmax_matches_eq3_with_background(eps):
    torch.manual_seed(6)
    logits = torch.randn(16, 6)  # 5 classes + background (index 5), mmdet bbox-head layout
    labels = torch.randint(0, 6, (16,))
    labels[:4] = 5
    weight = torch.rand(16)
    loss = LabelSmoothCrossEntropyLoss(eps, reduction='none')(logits, labels)
    torch.testing.assert_close(loss, eq3_softmax_loss(logits, labels, eps))
    mean = LabelSmoothCrossEntropyLoss(eps)(logits, labels, weight, avg_factor=9.0)
    expected = (eq3_softmax_loss(logits, labels, eps) * weight).sum() / 9.0
    torch.testing.assert_close(mean, expected)
    hard_bg = LabelSmoothCrossEntropyLoss(eps, smooth_background=False, reduction='none')
    torch.testing.assert_close(
        hard_bg(logits, labels), eq3_softmax_loss(logits, labels, eps, hard_rows=labels == 5)
    )


def test_softmax_class_weight_and_ignore():
    torch.manual_seed(7)
    logits = torch.randn(8, 4)
    labels = torch.tensor([0, 1, 2, 3, -100, 2, 1, -100])
    cw = torch.tensor([1.0, 0.5, 2.0, 3.0])
    loss = LabelSmoothCrossEntropyLoss(0.2, class_weight=cw.tolist(), reduction='none')(
        logits, labels
    )
    valid = labels >= 0
    expected = torch.zeros(8)
    expected[valid] = eq3_softmax_loss(logits[valid], labels[valid], 0.2, class_weight=cw)
    torch.testing.assert_close(loss, expected)


def test_softmax_dense_equals_torch_label_smoothing():
    torch.manual_seed(8)
    logits = torch.randn(3, 5, 4, 4)
    labels = torch.randint(0, 5, (3, 4, 4))
    labels[0, :2] = 255
    ours = LabelSmoothCrossEntropyLoss(0.15, ignore_index=255, reduction='none')(logits, labels)
    ref = F.cross_entropy(logits, labels, ignore_index=255, label_smoothing=0.15, reduction='none')
    torch.testing.assert_close(ours, ref)


def test_softmax_float_targets_mass_preserving():
    torch.manual_seed(9)
    logits = torch.randn(4, 3)
    targets = torch.tensor([[1.0, 0, 0], [0, 0.3, 0], [0.2, 0.8, 0], [0, 0, 0]])
    loss = LabelSmoothCrossEntropyLoss(0.3, reduction='none')(logits, targets)
    mass = targets.sum(1, keepdim=True)
    q = 0.7 * targets + 0.3 * mass / 3
    expected = -(q * torch.log_softmax(logits, 1)).sum(1)
    torch.testing.assert_close(loss, expected)
    assert loss[3] == 0
    # a one-hot float row is Eq. 3 exactly
    torch.testing.assert_close(loss[0], eq3_softmax_loss(logits[:1], torch.tensor([0]), 0.3)[0])


def test_softmax_gradient_is_p_minus_smoothed_q():
    """d/dz of -sum q' log softmax(z) is softmax(z) - q' (per row, divided by N for mean)."""
    torch.manual_seed(10)
    logits = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 3, 1, 1, 2])
    LabelSmoothCrossEntropyLoss(0.2)(logits, labels).backward()
    q = 0.8 * F.one_hot(labels, 4).double() + 0.2 / 4
    torch.testing.assert_close(logits.grad, (torch.softmax(logits.detach(), 1) - q) / 5)


@pytest.mark.parametrize('eps', [0.05, 0.2])
def test_sigmoid_eq3_integer_labels(eps):
    torch.manual_seed(11)
    logits = torch.randn(7, 4)
    labels = torch.tensor([0, 4, 2, 3, 4, -1, 1])  # 4 = background, -1 ignored
    loss = LabelSmoothCrossEntropyLoss(eps, use_sigmoid=True, reduction='none', ignore_index=-1)(
        logits, labels
    )
    fg = (labels >= 0) & (labels < 4)
    targets = torch.zeros(7, 4)
    targets[fg] = (1 - eps) * F.one_hot(labels[fg], 4).float() + eps / 4
    expected = bce(logits, targets) * (labels >= 0).float()[:, None]
    torch.testing.assert_close(loss, expected)
    assert torch.all(targets[labels == 4] == 0)


def test_sigmoid_gluoncv_limits_float_targets():
    torch.manual_seed(12)
    logits = torch.randn(2, 5, 3)
    targets = torch.zeros(2, 5, 3)
    targets[0, 0, 1] = 1
    targets[1, 4, 2] = 1
    weight = targets.sum(-1, keepdim=True) * 0.7
    loss = LabelSmoothCrossEntropyLoss(
        0.025, use_sigmoid=True, sigmoid_mode='gluoncv', reduction='sum'
    )(logits, targets, weight=weight)
    carrier = targets.sum(-1, keepdim=True) > 0
    smoothed = torch.where(
        targets > 0.5, torch.full_like(targets, 0.975), torch.full_like(targets, 0.025)
    )
    smoothed = torch.where(carrier, smoothed, targets)
    torch.testing.assert_close(loss, (bce(logits, smoothed) * weight).sum())


def test_sigmoid_eq3_equals_mmdet_yolov3_one_hot_smoother():
    """Our loss with eps inside YOLOV3Head == YOLOV3Head(one_hot_smoother=eps) + mmdet CE."""
    from mmdet.models.dense_heads import YOLOV3Head
    from mmengine.structures import InstanceData

    def build(loss_cls, smoother):
        torch.manual_seed(13)
        return YOLOV3Head(
            num_classes=4,
            in_channels=[8, 8],
            out_channels=[8, 8],
            anchor_generator=dict(
                type='YOLOAnchorGenerator',
                base_sizes=[[(30, 30), (20, 40)], [(10, 10), (8, 16)]],
                strides=[16, 8],
            ),
            featmap_strides=[16, 8],
            one_hot_smoother=smoother,
            loss_cls=loss_cls,
            train_cfg=dict(
                assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0)
            ),
        )

    eps = 0.1
    ref_head = build(dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='sum'), eps)
    our_head = build(
        dict(
            type='mmext.LabelSmoothCrossEntropyLoss',
            label_smooth_val=eps,
            use_sigmoid=True,
            reduction='sum',
        ),
        0.0,
    )
    our_head.load_state_dict(ref_head.state_dict())
    torch.manual_seed(14)
    feats = (torch.randn(2, 8, 4, 4), torch.randn(2, 8, 8, 8))
    gts = [
        InstanceData(
            bboxes=torch.tensor([[4.0, 4.0, 30.0, 34.0], [40.0, 10.0, 60.0, 30.0]]),
            labels=torch.tensor([1, 3]),
        ),
        InstanceData(bboxes=torch.tensor([[10.0, 20.0, 22.0, 40.0]]), labels=torch.tensor([0])),
    ]
    metas = [dict(img_shape=(64, 64), pad_shape=(64, 64), batch_input_shape=(64, 64))] * 2
    ref = ref_head.loss_by_feat(ref_head(feats)[0], gts, metas)
    ours = our_head.loss_by_feat(our_head(feats)[0], gts, metas)
    for lvl in range(2):
        torch.testing.assert_close(ours['loss_cls'][lvl], ref['loss_cls'][lvl])
        torch.testing.assert_close(ours['loss_conf'][lvl], ref['loss_conf'][lvl])
    assert sum(float(x) for x in ref['loss_cls']) > 0


def test_in_shared2fc_bbox_head():
    """loss_cls of mmdet's Shared2FCBBoxHead (K + 1 softmax logits, bg = K) is Eq. 3."""
    from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead

    torch.manual_seed(15)
    eps = 0.1
    head = Shared2FCBBoxHead(
        in_channels=4,
        fc_out_channels=16,
        roi_feat_size=2,
        num_classes=3,
        loss_cls=dict(type='mmext.LabelSmoothCrossEntropyLoss', label_smooth_val=eps),
    )
    cls_score, bbox_pred = head(torch.randn(10, 4, 2, 2))
    labels = torch.tensor([0, 1, 2, 3, 3, 3, 1, 3, 0, 3])  # 3 = background
    label_weights = torch.ones(10)
    label_weights[2] = 0.5
    bbox_targets = torch.zeros(10, 4)
    bbox_weights = torch.zeros(10, 4)
    losses = head.loss(
        cls_score, bbox_pred, None, labels, label_weights, bbox_targets, bbox_weights
    )
    assert cls_score.shape == (10, 4)
    expected = (eq3_softmax_loss(cls_score, labels, eps) * label_weights).sum() / 10
    torch.testing.assert_close(losses['loss_cls'], expected)
    assert 'acc' in losses


def test_gradcheck_float64():
    torch.manual_seed(16)
    logits = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 3, 1, 2, 3, 1])
    weight = torch.rand(6, dtype=torch.float64)
    soft = LabelSmoothCrossEntropyLoss(0.2, class_weight=[1.0, 2.0, 0.5, 1.5])
    assert torch.autograd.gradcheck(lambda z: soft(z, labels, weight), (logits,))

    def transcribed(z):
        return (
            eq3_softmax_loss(
                z, labels, 0.2, torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)
            )
            * weight
        ).mean()

    torch.testing.assert_close(soft(logits, labels, weight), transcribed(logits))
    g_ours = torch.autograd.grad(soft(logits, labels, weight), logits)[0]
    g_ref = torch.autograd.grad(transcribed(logits), logits)[0]
    torch.testing.assert_close(g_ours, g_ref)

    sig = LabelSmoothCrossEntropyLoss(0.1, use_sigmoid=True, reduction='sum')
    sig_labels = torch.tensor([0, 4, 1, 2, 3, 4])
    assert torch.autograd.gradcheck(lambda z: sig(z, sig_labels), (logits,))
    targets = F.one_hot(torch.tensor([1, 0, 3, 2, 1, 0]), 4).double()
    targets[2] = 0
    sig_g = LabelSmoothCrossEntropyLoss(0.05, use_sigmoid=True, sigmoid_mode='gluoncv')
    assert torch.autograd.gradcheck(lambda z: sig_g(z, targets), (logits,))
    soft_targets = torch.softmax(torch.randn(6, 4, dtype=torch.float64), 1)
    assert torch.autograd.gradcheck(lambda z: soft(z, soft_targets), (logits,))


def test_extreme_logits_stay_finite():
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 5.0]], requires_grad=True)
    labels = torch.tensor([1, 0])
    for loss_fn in (
        LabelSmoothCrossEntropyLoss(0.1),
        LabelSmoothCrossEntropyLoss(0.1, use_sigmoid=True),
    ):
        loss = loss_fn(logits, labels)
        loss.backward()
        assert torch.isfinite(loss) and torch.all(torch.isfinite(logits.grad))
        logits.grad = None


def test_registry_and_attributes():
    from mmdet.registry import MODELS

    loss = MODELS.build(
        dict(type='mmext.LabelSmoothCrossEntropyLoss', label_smooth_val=0.1, use_sigmoid=True)
    )
    assert isinstance(loss, LabelSmoothCrossEntropyLoss)
    assert loss.use_sigmoid and loss.loss_name == 'loss_cls'
    assert 'label_smooth_val=0.1' in repr(loss)


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(label_smooth_val=1.0), r'\[0, 1\.0\)'),
        (dict(label_smooth_val=-0.1), r'\[0, 1\.0\)'),
        (dict(label_smooth_val=0.5, use_sigmoid=True, sigmoid_mode='gluoncv'), r'\[0, 0\.5\)'),
        (dict(label_smooth_val='0.1'), 'must be a float'),
        (dict(sigmoid_mode='other'), 'sigmoid_mode'),
        (dict(reduction='avg'), 'reduction'),
        (dict(loss_name='ce'), 'loss_'),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LabelSmoothCrossEntropyLoss(**kwargs)


def test_bad_inputs():
    loss = LabelSmoothCrossEntropyLoss(0.1)
    with pytest.raises(ValueError, match='integer labels must have shape'):
        loss(torch.randn(4, 3), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match='float targets must have the shape'):
        loss(torch.randn(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match='reduction_override'):
        loss(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), reduction_override='avg')
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        loss(
            torch.randn(4, 3),
            torch.zeros(4, dtype=torch.long),
            avg_factor=2,
            reduction_override='sum',
        )
    sig = LabelSmoothCrossEntropyLoss(0.1, use_sigmoid=True)
    with pytest.raises(ValueError, match='sigmoid integer labels'):
        sig(torch.randn(2, 4, 3), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match='sigmoid float targets'):
        sig(torch.randn(4, 3), torch.zeros(4, 2))


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
@pytest.mark.parametrize('mode', ['softmax_int', 'softmax_float', 'sigmoid_int', 'sigmoid_float'])
@pytest.mark.parametrize('eps', [0.0, 0.1])
def test_non_finite_logit_gives_non_finite_loss(bad, mode, eps):
    """A NaN / +inf logit of a counted element (on its target class or another) never gives
    a finite loss, whatever the reduction and weighting."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 4, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 3, 1, 2, 3, 1])
    sigmoid = mode.startswith('sigmoid')
    loss_fn = LabelSmoothCrossEntropyLoss(eps, use_sigmoid=sigmoid)
    if mode.endswith('float'):
        targets = F.one_hot(labels, 4).to(logits.dtype)
        if sigmoid:
            targets[4] = 0.0  # a background row (no positive)
    else:
        targets = labels
    weight = torch.tensor([1.0, 0.5, 1.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    if sigmoid and mode.endswith('float'):
        weight = weight[:, None].expand(6, 4)
    for column in (1, 2):  # row 2's own class and another one
        bad_logits = logits.clone()
        bad_logits[2, column] = bad
        for kwargs in (
            dict(),
            dict(weight=weight),
            dict(reduction_override='sum'),
            dict(avg_factor=3.0),
        ):
            loss = loss_fn(bad_logits, targets, **kwargs)
            assert not torch.isfinite(loss), (column, kwargs, loss)


def test_out_of_range_labels_raise_with_range_and_value():
    """Issue 26: a label outside the classes was an IndexError (softmax) or silently became
    background (sigmoid); now a ValueError with the allowed values and the offending one."""
    logits = torch.randn(4, 3)
    for eps in (0.0, 0.1):
        softmax = LabelSmoothCrossEntropyLoss(eps)
        with pytest.raises(ValueError, match=r'\[0, 3\) or equal ignore_index=-100.*\[50\]'):
            softmax(logits, torch.tensor([0, 50, 1, 2]))
        with pytest.raises(ValueError, match=r'\[0, 3\) or equal ignore_index=255.*\[-1, 3\]'):
            softmax(logits, torch.tensor([0, 3, -1, 255]), ignore_index=255)
        seg = torch.randn(2, 3, 2, 2)
        with pytest.raises(ValueError, match=r'\[0, 3\).*\[7\]'):
            softmax(seg, torch.tensor([[[0, 1], [2, 7]], [[0, 0], [0, 0]]]))
        sigmoid = LabelSmoothCrossEntropyLoss(eps, use_sigmoid=True)
        # 3 (= C) is background; 4 and -2 are neither classes nor background nor ignored
        with pytest.raises(ValueError, match=r'\[0, 3\] \(3 = background\).*\[-2, 4\]'):
            sigmoid(logits, torch.tensor([0, 3, 4, -2]))
        with pytest.raises(ValueError, match=r'ignore_index=-1.*\[4\]'):
            sigmoid(logits, torch.tensor([0, 3, 4, -1]), ignore_index=-1)
    # the allowed values still work: C is an all-zero target row, ignore_index weight 0
    labels = torch.tensor([0, 3, 2, -1])
    got = LabelSmoothCrossEntropyLoss(0.0, use_sigmoid=True, reduction='none', ignore_index=-1)(
        logits, labels
    )
    targets = torch.tensor([[1.0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]])
    expected = bce(logits, targets) * torch.tensor([1.0, 1, 1, 0])[:, None]
    torch.testing.assert_close(got, expected)


def test_zero_pixel_batch_is_a_graph_keeping_zero():
    """Issue 26: logits (N, K, 0, 0) gave the NaN of an empty mean."""
    for kwargs in (dict(), dict(label_smooth_val=0.0), dict(avg_non_ignore=True)):
        for reduction in ('mean', 'sum'):
            logits = torch.randn(2, 4, 0, 0, requires_grad=True)
            loss = LabelSmoothCrossEntropyLoss(reduction=reduction, loss_weight=2.0, **kwargs)(
                logits, torch.zeros(2, 0, 0, dtype=torch.long)
            )
            assert loss.shape == () and loss.item() == 0.0 and loss.requires_grad
            loss.backward()
            assert logits.grad.shape == logits.shape
    none = LabelSmoothCrossEntropyLoss(reduction='none')(
        torch.randn(2, 4, 0, 3), torch.zeros(2, 0, 3, dtype=torch.long)
    )
    assert none.shape == (2, 0, 3)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_logits_at_1000_classes_give_a_finite_float32_loss(dtype):
    """Issue 30: with float16 logits ``-log_softmax(pred).sum(1)`` overflowed to inf at
    K = 1000; the loss is computed in float32 and returned in float32 (Eq. 3 transcription in
    float64 of the same rounded logits as the reference)."""
    g = torch.Generator().manual_seed(0)
    logits = (24 * torch.randn(16, 1000, generator=g)).to(dtype)
    labels = torch.randint(0, 1000, (16,), generator=g)
    if dtype == torch.float16:  # the old computation: the smoothing term overflows
        assert not torch.isfinite(-F.log_softmax(logits, dim=1).sum(1)).all()
    loss_fn = LabelSmoothCrossEntropyLoss(label_smooth_val=0.1)
    loss = loss_fn(logits.requires_grad_(), labels)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    ref = eq3_softmax_loss(logits.detach().double(), labels, 0.1).mean()
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-5)
    loss.backward()
    assert logits.grad.dtype == dtype and torch.isfinite(logits.grad).all()
    sigmoid = LabelSmoothCrossEntropyLoss(use_sigmoid=True)(logits.detach(), labels)
    assert sigmoid.dtype == torch.float32 and torch.isfinite(sigmoid)


def test_avg_non_ignore_count_stays_on_the_device():
    """avg_non_ignore divides by the number of non-ignored labels, kept as a tensor (no
    ``.item()``): same value as the count taken by hand."""
    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 255, 3, 1, 255, 2])
    loss = LabelSmoothCrossEntropyLoss(0.1, ignore_index=255, avg_non_ignore=True)(logits, labels)
    valid = labels != 255
    ref = eq3_softmax_loss(logits[valid].double(), labels[valid], 0.1).sum() / (
        4 + torch.finfo(torch.float32).eps
    )
    torch.testing.assert_close(loss.double(), ref)
