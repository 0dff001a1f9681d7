"""Empty batches (N = 0): every mmext loss returns a zero that keeps the graph.

The policy of :mod:`mmext.models.losses.empty_batch`. Before it, label-smoothing CE and the ICU
loss returned NaN (an empty mean), the tilted CE raised a reshape error.
"""

import pytest
import torch
from torch import nn

import mmext  # noqa: F401  (registration)
from mmext.models.losses.empty_batch import empty_batch_loss
from mmext.registry import MODELS


def seg_inputs(n):
    """Logits (N, 4, 5, 6) and labels (N, 5, 6)."""
    torch.manual_seed(n)
    return torch.randn(n, 4, 5, 6), torch.randint(0, 4, (n, 5, 6))


def int_inputs(n):
    """Logits / distances (N, 5) and integer labels (N,)."""
    torch.manual_seed(n)
    return torch.randn(n, 5).abs(), torch.randint(0, 5, (n,))


def float_inputs(n):
    """Logits (N, 5) and float (soft) targets (N, 5)."""
    torch.manual_seed(n)
    return torch.randn(n, 5), torch.softmax(torch.randn(n, 5), 1)


def vector_inputs(n):
    """Logits (N,) and binary targets (N,) (the sigmoid (N,) path)."""
    torch.manual_seed(n)
    return torch.randn(n), torch.randint(0, 2, (n,)).float()


# (registry name, constructor arguments, inputs, forward keyword arguments, 'none' shape)
CASES = [
    ('TiltedCrossEntropyLoss', dict(level='image'), seg_inputs, dict(ignore_index=255), None),
    ('TiltedCrossEntropyLoss', dict(level='class'), seg_inputs, dict(ignore_index=255), (0,)),
    ('TiltedCrossEntropyLoss', dict(level='class', tilt=-1.0), seg_inputs, {}, (0,)),
    ('ClassTrackedCrossEntropyLoss', {}, seg_inputs, dict(ignore_index=255), (0, 5, 6)),
    ('SoftDiceLoss', {}, seg_inputs, {}, (4,)),
    ('SoftIoULoss', dict(per_image=True), seg_inputs, {}, (0, 4)),
    ('SegFocalLoss', {}, seg_inputs, {}, (0, 4, 5, 6)),
    ('LabelSmoothCrossEntropyLoss', {}, int_inputs, {}, (0,)),
    ('LabelSmoothCrossEntropyLoss', dict(label_smooth_val=0.0), seg_inputs, {}, (0, 5, 6)),
    ('LabelSmoothCrossEntropyLoss', {}, float_inputs, {}, (0,)),
    ('LabelSmoothCrossEntropyLoss', dict(use_sigmoid=True), int_inputs, {}, (0, 5)),
    (
        'LabelSmoothCrossEntropyLoss',
        dict(use_sigmoid=True, sigmoid_mode='gluoncv'),
        float_inputs,
        {},
        (0, 5),
    ),
    ('LabelSmoothCrossEntropyLoss', dict(use_sigmoid=True), vector_inputs, {}, (0,)),
    ('ICULoss', {}, int_inputs, dict(num_dims=3), (0,)),
    ('ICULoss', dict(alpha=0.5, gamma=0.0), int_inputs, {}, (0,)),
    ('LGMLoss', {}, int_inputs, dict(log_dets=torch.linspace(-1.0, 1.0, 5)), (0,)),
]
IDS = [f'{name}-{i}' for i, (name, *_) in enumerate(CASES)]


def test_every_mmext_loss_has_a_case():
    losses = {
        name
        for name, cls in MODELS.module_dict.items()
        if issubclass(cls, nn.Module) and name.endswith('Loss')
    }
    assert losses == {case[0] for case in CASES}


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
@pytest.mark.parametrize('name, kwargs, inputs, call, _', CASES, ids=IDS)
def test_empty_batch_gives_a_zero_that_keeps_the_graph(name, kwargs, inputs, call, _, reduction):
    loss_fn = MODELS.build(
        dict(type=f'mmext.{name}', reduction=reduction, loss_weight=2.0, **kwargs)
    )
    full, full_label = inputs(3)  # the same loss is finite and non-zero on a real batch
    value = loss_fn(full, full_label, **call)
    assert torch.isfinite(value) and value.item() != 0
    x, label = inputs(0)
    x.requires_grad_(True)
    loss = loss_fn(x, label, **call)
    assert loss.shape == () and loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert x.grad is not None and x.grad.shape == x.shape
    half = loss_fn(x.detach().half(), label, **call)  # computed in float32 for half inputs
    assert half.dtype == torch.float32 and half.item() == 0.0


@pytest.mark.parametrize('name, kwargs, inputs, call, none_shape', CASES, ids=IDS)
def test_empty_batch_none_reduction(name, kwargs, inputs, call, none_shape):
    if none_shape is None:
        pytest.skip('reduction="none" is undefined for the image-level tilted CE')
    loss_fn = MODELS.build(dict(type=f'mmext.{name}', reduction='none', **kwargs))
    x, label = inputs(0)
    x.requires_grad_(True)
    loss = loss_fn(x, label, **call)
    assert tuple(loss.shape) == none_shape and torch.all(loss == 0)
    loss.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_empty_batch_loss_helper():
    x = torch.randn(0, 3, requires_grad=True)
    zero = empty_batch_loss(x)
    assert zero.shape == () and zero.dtype == torch.float32 and zero.requires_grad
    assert empty_batch_loss(x.detach().to(torch.bfloat16)).dtype == torch.float32
    assert empty_batch_loss(x.detach().double()).dtype == torch.float64
    assert empty_batch_loss(x, torch.float64).dtype == torch.float64
    shaped = empty_batch_loss(x, shape=(0, 3))
    assert shaped.shape == (0, 3) and shaped.requires_grad
    # a NaN in a non-empty input stays visible (0 * NaN): the helper is for N = 0 only
    assert torch.isnan(empty_batch_loss(torch.tensor([float('nan')])))


def pixel_free_inputs():
    """Logits (2, 4, 0, 0) and labels (2, 0, 0): two images without a pixel."""
    return torch.randn(2, 4, 0, 0), torch.zeros(2, 0, 0, dtype=torch.long)


# the dense (per-pixel) losses: a batch of images without pixels is an empty batch too
PIXEL_CASES = [case for case in CASES if case[2] is seg_inputs]
PIXEL_IDS = [f'{case[0]}-{i}' for i, case in enumerate(PIXEL_CASES)]


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
@pytest.mark.parametrize('name, kwargs, inputs, call, _', PIXEL_CASES, ids=PIXEL_IDS)
def test_zero_pixel_batch_gives_a_zero_that_keeps_the_graph(
    name, kwargs, inputs, call, _, reduction
):
    """Label-smoothing CE and SegFocalLoss ('mean') used to give NaN (an empty mean) for
    N > 0 images of 0 pixels."""
    loss_fn = MODELS.build(
        dict(type=f'mmext.{name}', reduction=reduction, loss_weight=2.0, **kwargs)
    )
    x, label = pixel_free_inputs()
    x.requires_grad_(True)
    loss = loss_fn(x, label, **call)
    assert loss.shape == () and loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert x.grad is not None and x.grad.shape == x.shape
