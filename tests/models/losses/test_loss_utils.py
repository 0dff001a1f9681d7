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
