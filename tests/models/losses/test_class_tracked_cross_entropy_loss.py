"""Tests of ClassTrackedCrossEntropyLoss: mmseg's CE plus the per-class batch record."""

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from mmext.models.losses import ClassTrackedCrossEntropyLoss
from mmext.models.losses.class_tracked_cross_entropy_loss import (
    CLASS_LOSS_KEY,
    class_ce_record,
    mean_by_device_count,
)


def _data(seed=0, n=2, k=4, h=5, w=3, ignore=255):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, h, w, generator=g, dtype=torch.float64)
    label = torch.randint(0, k, (n, h, w), generator=g)
    label[torch.rand(n, h, w, generator=g) < 0.2] = ignore
    return logits, label


def test_record_by_hand():
    logits, label = _data()
    rec = class_ce_record(logits, label, 255).double().numpy()
    p = torch.softmax(logits, 1).numpy()
    lab = label.numpy()
    for c in range(4):
        n_idx, y_idx, x_idx = np.nonzero(lab == c)
        nll = [-np.log(p[n, c, y, x]) for n, y, x in zip(n_idx, y_idx, x_idx)]
        assert rec[1, c] == len(nll)
        assert rec[0, c] == pytest.approx(sum(nll), rel=1e-5)


def test_trains_exactly_as_mmseg_ce_and_records_in_training_only():
    from mmseg.models.losses import CrossEntropyLoss

    logits, label = _data(1)
    hub = MessageHub.get_instance('class_tracked_ce_test')
    ours = ClassTrackedCrossEntropyLoss(avg_non_ignore=True)
    theirs = CrossEntropyLoss(avg_non_ignore=True)
    assert ours.loss_name == 'loss_ce'
    x1 = logits.clone().requires_grad_()
    x2 = logits.clone().requires_grad_()
    hub.pop_info(CLASS_LOSS_KEY, None)
    from unittest import mock

    with mock.patch.object(MessageHub, 'get_current_instance', return_value=hub):
        a = ours(x1, label, ignore_index=255)
        rec = hub.pop_info(CLASS_LOSS_KEY)
        ours.eval()
        ours(x1.detach(), label, ignore_index=255)
        assert hub.get_info(CLASS_LOSS_KEY) is None
    b = theirs(x2, label, ignore_index=255)
    a.backward()
    b.backward()
    assert float(a) == float(b)
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(rec, class_ce_record(logits, label, 255))


def test_gradcheck_float64():
    logits, label = _data(2, n=1, k=3, h=2, w=2)
    loss = ClassTrackedCrossEntropyLoss().eval()
    x = logits.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: loss(z, label, ignore_index=255), (x,))


def test_refuses_sigmoid_and_builds_from_the_registry():
    from mmext.registry import MODELS

    with pytest.raises(ValueError, match='softmax'):
        ClassTrackedCrossEntropyLoss(use_sigmoid=True)
    built = MODELS.build(dict(type='mmext.ClassTrackedCrossEntropyLoss', info_key='k'))
    assert isinstance(built, ClassTrackedCrossEntropyLoss) and built.info_key == 'k'


def _losses(**kwargs):
    from mmseg.models.losses import CrossEntropyLoss

    return ClassTrackedCrossEntropyLoss(**kwargs).eval(), CrossEntropyLoss(**kwargs)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize(
    'call',
    [
        dict(),
        dict(reduction_override='sum'),
        dict(reduction_override='none'),
        dict(avg_factor=7.0),
        dict(pixel_weight=True),
        dict(pixel_weight=True, reduction_override='none'),
    ],
    ids=['mean', 'sum', 'none', 'avg_factor', 'weight', 'weight-none'],
)
def test_value_and_gradient_bit_equal_to_mmseg(dtype, avg_non_ignore, call):
    """One CE computation, mmseg's reduction: the same bits (value and gradient)."""
    call = dict(call)
    for seed in range(5):
        logits, label = _data(seed, n=2, k=5, h=7, w=9)
        logits = logits.to(dtype)
        if call.pop('pixel_weight', False):
            call['weight'] = torch.rand(label.shape, generator=torch.Generator().manual_seed(seed))
        ours, theirs = _losses(avg_non_ignore=avg_non_ignore, loss_weight=0.7)
        x1, x2 = logits.clone().requires_grad_(), logits.clone().requires_grad_()
        a = ours(x1, label, ignore_index=255, **call)
        b = theirs(x2, label, ignore_index=255, **call)
        assert a.dtype == b.dtype and torch.equal(a, b)
        a.sum().backward()
        b.sum().backward()
        assert torch.equal(x1.grad, x2.grad)


@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_class_weight_bit_equal_to_mmseg(avg_non_ignore, reduction):
    # ignore_index inside the classes: mmseg's mean indexes the class weights with the raw
    # labels, which fails for an ignore_index outside them
    weights = [0.5, 1.0, 2.0, 1.5, 0.7]
    for seed in range(5):
        logits, label = _data(seed, n=2, k=5, h=7, w=9, ignore=3)
        ours, theirs = _losses(class_weight=weights, avg_non_ignore=avg_non_ignore)
        x1, x2 = logits.clone().requires_grad_(), logits.clone().requires_grad_()
        a = ours(x1, label, ignore_index=3, reduction_override=reduction)
        b = theirs(x2, label, ignore_index=3, reduction_override=reduction)
        assert torch.equal(a, b)
        a.sum().backward()
        b.sum().backward()
        assert torch.equal(x1.grad, x2.grad)
    # with avg_non_ignore, an ignore_index outside the classes gets weight 0 (mmseg fails)
    logits, label = _data(0, n=2, k=5, h=7, w=9)
    loss, _ = _losses(class_weight=weights, avg_non_ignore=True)
    valid = label != 255
    nll = torch.nn.functional.cross_entropy(
        logits, label, torch.tensor(weights, dtype=logits.dtype), reduction='none', ignore_index=255
    )
    expected = nll.sum() / (torch.tensor(weights, dtype=logits.dtype)[label[valid]].sum() + 2**-23)
    torch.testing.assert_close(loss(logits, label, ignore_index=255), expected)


DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_mean_by_device_count_matches_a_division_by_the_host_count(dtype, device):
    """PyTorch divides by a host scalar its own way per device (CUDA: times the reciprocal)."""
    g = torch.Generator().manual_seed(0)
    for count in list(range(0, 300)) + [2**20 + 3, 2**24 - 1]:
        loss = (torch.rand(4, 5, generator=g, dtype=torch.float64) * 3).to(device, dtype)
        expected = loss.sum() / (count + torch.finfo(torch.float32).eps)  # mmseg's division
        got = mean_by_device_count(loss, torch.tensor(count, device=device))
        assert got.dtype == expected.dtype and torch.equal(got, expected), count


def test_one_softmax_per_step():
    """The record and the loss share one per-pixel CE: a single log_softmax per forward."""
    from tests.sync_counter import SyncCounter

    logits, label = _data(3)
    loss = ClassTrackedCrossEntropyLoss()
    hub = MessageHub.get_instance('class_tracked_ce_once')
    from unittest import mock

    with mock.patch.object(MessageHub, 'get_current_instance', return_value=hub):
        with SyncCounter() as counter:
            loss(logits, label, ignore_index=255)
    assert counter.ops.count('_log_softmax') == 1
    assert hub.get_info(CLASS_LOSS_KEY).shape == (2, 4)


def test_unknown_keyword_is_an_error():
    logits, label = _data(0)
    with pytest.raises(TypeError, match='unexpected'):
        ClassTrackedCrossEntropyLoss().eval()(logits, label, ignore_index=255, foo=1)
