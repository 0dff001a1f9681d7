"""Tests of ClassTrackedCrossEntropyLoss: mmseg's CE plus the per-class batch record."""

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from mmext.models.losses import ClassTrackedCrossEntropyLoss
from mmext.models.losses.class_tracked_cross_entropy_loss import CLASS_LOSS_KEY, class_ce_record


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
