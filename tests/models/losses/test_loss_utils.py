"""Hand-computed tests of mmext.models.losses.utils (the host-loss contract)."""

import pytest
import torch

from mmext.models.losses import (
    ICULoss,
    LabelSmoothCrossEntropyLoss,
    SegFocalLoss,
    SoftDiceLoss,
    SoftIoULoss,
    TiltedCrossEntropyLoss,
)
from mmext.models.losses.utils import (
    REDUCTIONS,
    LossNameMixin,
    check_loss_name,
    check_reduction,
    resolve_reduction,
    weight_reduce_loss,
)

EPS32 = torch.finfo(torch.float32).eps
LOSS = torch.tensor([1.0, 2.0, 3.0, 6.0], dtype=torch.float64)
WEIGHT = torch.tensor([1.0, 0.5, 0.0, 2.0], dtype=torch.float64)


def test_reduction_checks():
    assert REDUCTIONS == ('none', 'mean', 'sum')
    for reduction in REDUCTIONS:
        assert check_reduction(reduction) == reduction
    with pytest.raises(ValueError, match="reduction must be one of .* got 'avg'"):
        check_reduction('avg')
    with pytest.raises(ValueError, match='reduction must be one of'):
        check_reduction('none', allowed=('mean', 'sum'))
    assert resolve_reduction('mean', None) == 'mean'
    assert resolve_reduction('mean', '') == 'mean'
    assert resolve_reduction('mean', 'sum') == 'sum'
    with pytest.raises(ValueError, match='reduction_override must be one of'):
        resolve_reduction('mean', 'max')


def test_loss_name_checks():
    assert check_loss_name('loss_x') == 'loss_x'
    for bad in ('x_loss', 'los_x', '', None):
        with pytest.raises(ValueError, match="loss_name must start with 'loss_'"):
            check_loss_name(bad)

    class Named(LossNameMixin):
        def __init__(self, name):
            self._set_loss_name(name)

    assert Named('loss_a').loss_name == 'loss_a'
    with pytest.raises(ValueError):
        Named('a')


@pytest.mark.parametrize(
    'reduction,avg_factor,weighted,expected',
    [
        # weighted: [1, 1, 0, 12]
        ('none', None, True, [1.0, 1.0, 0.0, 12.0]),
        ('sum', None, True, 14.0),
        ('mean', None, True, 3.5),  # 14 / 4 elements
        ('mean', 7.0, True, 14.0 / (7.0 + EPS32)),
        ('none', 7.0, True, [1.0, 1.0, 0.0, 12.0]),  # avg_factor ignored without a reduction
        ('sum', None, False, 12.0),
        ('mean', None, False, 3.0),
        ('mean', 0.0, False, 12.0 / EPS32),
    ],
)
def test_weight_reduce_loss_by_hand(reduction, avg_factor, weighted, expected):
    out = weight_reduce_loss(LOSS, WEIGHT if weighted else None, reduction, avg_factor)
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=0)


def test_weight_reduce_loss_errors_and_dtype():
    with pytest.raises(ValueError, match='avg_factor can not be used with reduction="sum"'):
        weight_reduce_loss(LOSS, None, 'sum', 2.0)
    with pytest.raises(ValueError, match='reduction must be one of'):
        weight_reduce_loss(LOSS, None, 'max')
    # the weight is cast to the loss dtype (an integer weight, a float32 loss)
    out = weight_reduce_loss(torch.tensor([1.5, 2.5]), torch.tensor([2, 0]), 'none')
    assert out.dtype == torch.float32 and out.tolist() == [3.0, 0.0]


@pytest.mark.parametrize(
    'loss_cls,name',
    [
        (ICULoss, 'loss_icu_cls'),
        (LabelSmoothCrossEntropyLoss, 'loss_cls'),
        (SegFocalLoss, 'loss_focal'),
        (SoftDiceLoss, 'loss_soft_dice'),
        (SoftIoULoss, 'loss_soft_iou'),
        (TiltedCrossEntropyLoss, 'loss_tce'),
    ],
)
def test_every_loss_uses_the_contract(loss_cls, name):
    kwargs = dict(level='class') if loss_cls is TiltedCrossEntropyLoss else {}
    loss = loss_cls(**kwargs)
    assert isinstance(loss, LossNameMixin) and loss.loss_name == name
    assert loss_cls(loss_name='loss_other', **kwargs).loss_name == 'loss_other'
    with pytest.raises(ValueError, match="loss_name must start with 'loss_'"):
        loss_cls(loss_name='other', **kwargs)
    with pytest.raises(ValueError, match='reduction must be one of'):
        loss_cls(reduction='avg', **kwargs)


def test_check_class_labels_on_cpu():
    from mmext.models.losses.utils import check_class_labels

    ok = torch.tensor([[0, 2], [255, 1]])
    check_class_labels(ok, 3, 255)
    check_class_labels(torch.tensor([0, 3]), 3, background=True)  # C = background
    check_class_labels(torch.zeros(0, dtype=torch.long), 3)
    with pytest.raises(
        ValueError,
        match=r'^labels must lie in \[0, 3\) or equal '
        r'ignore_index=255; got out-of-range values \[-1, 50\] \(3 elements\)$',
    ):
        check_class_labels(torch.tensor([[0, 50], [-1, 50]]), 3, 255)
    with pytest.raises(ValueError, match=r'^labels must lie in \[0, 3\); got .* \[3\]'):
        check_class_labels(torch.tensor([3]), 3)
    with pytest.raises(ValueError, match=r'\[0, 3\] \(3 = background\).*\[4\]'):
        check_class_labels(torch.tensor([3, 4]), 3, background=True)
    with pytest.raises(ValueError, match=r'\[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, \.\.\.\]'):
        check_class_labels(torch.arange(30), 3)


def test_check_class_labels_device_branch_never_reads_back(monkeypatch):
    """Off CPU (CUDA) the check is ``torch._assert_async(ok, msg)`` on a device tensor:
    no ``bool()`` / ``.item()`` of label data on the host. Simulated on CPU tensors."""
    from mmext.models.losses import utils

    calls = []

    def fake_assert_async(cond, *msg):
        calls.append((cond, msg))

    monkeypatch.setattr(utils, '_checked_on_host', lambda label: False)
    monkeypatch.setattr(torch, '_assert_async', fake_assert_async)
    monkeypatch.setattr(torch.Tensor, '__bool__', lambda self: pytest.fail('host sync'))
    monkeypatch.setattr(torch.Tensor, 'item', lambda self: pytest.fail('host sync'))
    monkeypatch.setattr(torch.Tensor, 'tolist', lambda self: pytest.fail('host sync'))
    utils.check_class_labels(torch.tensor([0, 50]), 3, 255)  # no ValueError: deferred
    utils.check_class_labels(torch.tensor([0, 3]), 3, -100, background=True)
    (bad_cond, bad_msg), (ok_cond, ok_msg) = calls
    monkeypatch.undo()
    assert isinstance(bad_cond, torch.Tensor) and bad_cond.shape == () and not bad_cond
    assert bad_msg == ('labels must lie in [0, 3) or equal ignore_index=255',)
    assert bool(ok_cond) and ok_msg == (
        'labels must lie in [0, 3] (3 = background) or equal ignore_index=-100',
    )


def test_check_class_labels_device_branch_without_message_overload(monkeypatch):
    from mmext.models.losses import utils

    calls = []

    def one_arg_assert_async(cond, *msg):
        if msg:
            raise TypeError('_assert_async() takes 1 positional argument')
        calls.append(cond)

    monkeypatch.setattr(utils, '_checked_on_host', lambda label: False)
    monkeypatch.setattr(torch, '_assert_async', one_arg_assert_async)
    utils.check_class_labels(torch.tensor([0, 7]), 3)
    assert len(calls) == 1 and not bool(calls[0])
    # the real op on a CPU tensor raises at once, with the message
    monkeypatch.undo()
    monkeypatch.setattr(utils, '_checked_on_host', lambda label: False)
    with pytest.raises(RuntimeError, match=r'labels must lie in \[0, 3\)'):
        utils.check_class_labels(torch.tensor([0, 7]), 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_check_class_labels_on_cuda_does_not_synchronise():
    from mmext.models.losses.utils import check_class_labels

    label = torch.randint(0, 4, (2, 64, 64), device='cuda')
    label[0, 0, 0] = 255
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')  # any host sync raises
    try:
        check_class_labels(label, 4, 255)
        check_class_labels(label, 4, 255, background=True)
    finally:
        torch.cuda.set_sync_debug_mode('default')
    torch.cuda.synchronize()


def test_check_finite_number():
    from mmext.models.losses.utils import check_finite_number

    assert check_finite_number('a', 2) == 2.0 and isinstance(check_finite_number('a', 2), float)
    assert check_finite_number('a', 0.0, low=0.0) == 0.0
    for bad in (float('nan'), float('inf'), -float('inf')):
        with pytest.raises(ValueError, match=r'^invalid a=(nan|inf|-inf): expected a finite'):
            check_finite_number('a', bad, low=0.0)
    with pytest.raises(ValueError, match=r'^invalid a=-1\.0: expected a >= 0$'):
        check_finite_number('a', -1, low=0)
    with pytest.raises(ValueError, match=r'expected a > 0$'):
        check_finite_number('a', 0, low=0, low_inclusive=False)
    with pytest.raises(ValueError, match=r'expected a < 1$'):
        check_finite_number('a', 1, high=1, high_inclusive=False)
    with pytest.raises(ValueError, match=r'expected a <= 1$'):
        check_finite_number('a', 1.5, high=1)
    for bad in (True, False, '1.0', None, torch.tensor(1.0)):
        with pytest.raises(TypeError, match='invalid a=.*expected a real number'):
            check_finite_number('a', bad)


def test_checked_on_host_is_the_one_switch(monkeypatch):
    from mmext.models.losses import utils

    assert utils.checked_on_host(torch.zeros(1))
    monkeypatch.setattr(utils, '_checked_on_host', lambda tensor: False)
    assert not utils.checked_on_host(torch.zeros(1))


def test_constant_tensor_is_made_once_per_device_and_dtype():
    """Per-class constants are copied to the device once (a tensor from Python numbers on
    CUDA is a synchronous host-to-device copy): the same tensor comes back for the same
    values, dtype and device; it is a normal tensor even when first made in inference mode."""
    from mmext.models.losses.utils import constant_tensor

    like = torch.zeros(2, dtype=torch.float64)
    with torch.inference_mode():
        first = constant_tensor([0.5, 1.0, 2.0], like)
    assert not first.is_inference() and not first.requires_grad
    assert first.dtype == torch.float64 and first.tolist() == [0.5, 1.0, 2.0]
    assert constant_tensor((0.5, 1.0, 2.0), like) is first
    assert constant_tensor([0.5, 1.0, 2.0], like, torch.float32).dtype == torch.float32
    assert constant_tensor([0.5, 1.0], like) is not first
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    (x * first).sum().backward()  # usable in autograd (saved for backward)
    assert x.grad.tolist() == [0.5, 1.0, 2.0]
