"""ICULoss: Eq. 17/18/19 against an explicit-loop transcription, the reading of Eq. 18
(Eq. 21 holds), float64 gradcheck, the loss contract and error messages."""

import math

import pytest
import torch
import torch.nn.functional as F

from mmext.models.layers import GaussianClassifier
from mmext.models.losses import ICULoss
from mmext.registry import MODELS
from tests.models.icu_reference import eq9_distances, eq17_loss


def _distances(n=6, k=4, seed=0):
    torch.manual_seed(seed)
    return (torch.rand(n, k, dtype=torch.float64) * 4 - 1).requires_grad_()


@pytest.mark.parametrize('alpha,gamma', [(1e-4, 1e-3), (0.5, 0.2), (0.0, 0.3), (0.4, 0.0)])
def test_matches_eq17_transcription(alpha, gamma):
    dist = _distances()
    labels = [0, 3, 1, 1, 2, 0]
    ours = ICULoss(alpha=alpha, gamma=gamma)(dist, torch.tensor(labels), num_dims=5)
    ref = eq17_loss(dist, labels, alpha, gamma, num_dims=5)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    (g_ours,) = torch.autograd.grad(ours, dist)
    (g_ref,) = torch.autograd.grad(ref, dist)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-12)


def test_full_pipeline_against_transcription():
    """Eq. 9 distances of the layer + Eq. 17 loss vs the loops, gradients included."""
    torch.manual_seed(3)
    layer = GaussianClassifier(3, 4, init_std=1.0).double()
    with torch.no_grad():
        layer.log_vars.uniform_(-0.5, 0.5)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    labels = [1, 0, 3, 3, 2]
    ours = ICULoss(alpha=0.1, gamma=0.05)(
        layer.distances(x, torch.tensor(labels)), torch.tensor(labels), num_dims=3
    )
    ref = eq17_loss(eq9_distances(x, layer.means, layer.log_vars), labels, 0.1, 0.05, 3)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    params = (x, layer.means, layer.log_vars)
    for got, want in zip(torch.autograd.grad(ours, params), torch.autograd.grad(ref, params)):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_no_margins_is_cross_entropy_on_negative_distances():
    dist = _distances()
    labels = torch.tensor([0, 3, 1, 1, 2, 0])
    ours = ICULoss(alpha=0.0, gamma=0.0)(dist, labels)
    torch.testing.assert_close(ours, F.cross_entropy(-dist, labels))


def test_wide_distance_spread_matches_cross_entropy():
    """Gaussian distances spread over hundreds of nats: the loss drops softmax terms below
    ~1e-27 (subnormal range); value and gradient still equal torch's cross-entropy."""
    torch.manual_seed(0)
    dist = (torch.rand(64, 300) * 800.0).requires_grad_()
    labels = torch.randint(0, 300, (64,))
    dist.data[torch.arange(64), labels] -= 700.0  # confident, far-apart classes
    ours = ICULoss(alpha=0.0, gamma=0.0)(dist, labels)
    ref = F.cross_entropy(-dist, labels)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(
        torch.autograd.grad(ours, dist)[0], torch.autograd.grad(ref, dist)[0], rtol=1e-5, atol=1e-12
    )


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_far_classes_get_exactly_zero_gradient(dtype):
    """Softmax terms below ~exp(0.7 ln tiny) of the largest one are exactly 0 (value and
    gradient): no rounding residue that the classifier's backward GEMMs would multiply
    into subnormal products. Terms above the cut are kept."""
    floor = -0.7 * math.log(torch.finfo(dtype).tiny)  # 61 nats (float32), 496 (float64)
    dist = torch.zeros(3, 6, dtype=dtype)
    dist[:, 1] = 0.5 * floor  # kept: e^{-d} ≈ tiny^0.35
    dist[:, 2:] = torch.tensor([1.01, 1.5, 3.0, 1e4]) * floor  # dropped
    dist.requires_grad_()
    labels = torch.zeros(3, dtype=torch.long)
    (grad,) = torch.autograd.grad(ICULoss(alpha=0.0, gamma=0.0)(dist, labels), dist)
    assert torch.all(grad[:, 2:] == 0)
    # ∂L/∂d_k = −p_k / N off the true class
    torch.testing.assert_close(
        grad[:, 1], torch.full((3,), -math.exp(-0.5 * floor) / 3, dtype=dtype), rtol=1e-5, atol=0.0
    )


def test_gradcheck():
    dist = _distances()
    labels = torch.tensor([0, 3, 1, 1, 2, 0])
    weight = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5, 1.0], dtype=torch.float64)
    loss = ICULoss(alpha=0.3, gamma=0.1)
    assert torch.autograd.gradcheck(
        lambda d: loss(d, labels, weight, avg_factor=4.5, num_dims=7), (dist,)
    )


@pytest.mark.parametrize('dim', [1, 4, 64])
def test_intra_class_margin_realises_eq21(dim):
    """α = 0, sample at equal Mahalanobis distance from classes z and k with isotropic
    variances σ_z² and σ_k²: the true class wins with the margin iff
    σ_k² − σ_z² > γ σ_z² (Eq. 21), for every feature dimension D."""
    gamma, var_z = 0.05, 0.8
    for rel, wins in ((1.0 + 1e-6, True), (1.0 - 1e-6, False)):
        var_k = var_z * (1 + gamma) * rel
        maha = 3.0
        dist = torch.tensor(
            [[0.5 * (maha + dim * math.log(var_z)), 0.5 * (maha + dim * math.log(var_k))]],
            dtype=torch.float64,
            requires_grad=True,
        )
        loss = ICULoss(alpha=0.0, gamma=gamma)
        # the loss is log(1 + e^{logit_k - logit_z}): below log 2 iff the true class wins
        value = loss(dist, torch.tensor([0]), num_dims=dim)
        assert (value.item() < math.log(2.0)) == wins
        assert (var_k - var_z > gamma * var_z) == wins


def test_contract():
    dist = _distances()
    labels = torch.tensor([0, 3, 1, 1, 2, 0])
    loss = MODELS.build(dict(type='mmext.ICULoss', alpha=0.2, gamma=0.1, loss_weight=2.0))
    assert loss.loss_name == 'loss_icu_cls'
    per_sample = loss(dist, labels, reduction_override='none', num_dims=3)
    assert per_sample.shape == (6,)
    ref = torch.stack(
        [2.0 * eq17_loss(dist[i : i + 1], [int(labels[i])], 0.2, 0.1, 3) for i in range(6)]
    )
    torch.testing.assert_close(per_sample, ref)
    weight = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5, 1.0], dtype=torch.float64)
    torch.testing.assert_close(
        loss(dist, labels, weight, avg_factor=3.0, num_dims=3), (ref * weight).sum() / 3.0
    )
    torch.testing.assert_close(
        loss(dist, labels, weight, reduction_override='sum', num_dims=3), (ref * weight).sum()
    )
    torch.testing.assert_close(loss(dist, labels, num_dims=3), ref.mean())


def test_clear_errors():
    dist = _distances()
    labels = torch.tensor([0, 3, 1, 1, 2, 0])
    with pytest.raises(ValueError, match='needs num_dims'):
        ICULoss(gamma=0.1)(dist, labels)
    with pytest.raises(ValueError, match=r'must lie in \[0, 4\)'):
        ICULoss()(dist, torch.tensor([0, 4, 1, 1, 2, 0]), num_dims=3)
    with pytest.raises(ValueError, match='integer class indices'):
        ICULoss()(dist, torch.zeros(6, 4), num_dims=3)
    with pytest.raises(ValueError, match='alpha >= 0'):
        ICULoss(alpha=-0.1)
    with pytest.raises(ValueError, match='reduction must be one of'):
        ICULoss(reduction='max')
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        ICULoss()(dist, labels, avg_factor=2.0, reduction_override='sum', num_dims=3)
    with pytest.raises(ValueError, match="start with 'loss_'"):
        ICULoss(loss_name='icu')


@pytest.mark.parametrize('bad', [float('nan'), -float('inf')])  # -inf distance = +inf logit
@pytest.mark.parametrize('column', [0, 2])  # the true class of row 1, another class
def test_non_finite_logit_gives_non_finite_loss(bad, column):
    """A NaN distance or a +inf logit (distance -inf) never gives a finite loss; the
    implementation clamps and thresholds the softmax terms, which must not hide them."""
    dist = _distances().detach()
    labels = torch.tensor([0, 0, 1, 1, 2, 0])
    dist[1, column] = bad
    for alpha, gamma in ((1e-4, 1e-3), (0.0, 0.0)):
        loss_fn = ICULoss(alpha=alpha, gamma=gamma)
        assert not torch.isfinite(loss_fn(dist, labels, num_dims=4))
        per_sample = loss_fn(dist, labels, num_dims=4, reduction_override='none')
        assert not torch.isfinite(per_sample[1]) and torch.isfinite(per_sample[[0, 2, 3]]).all()
        assert not torch.isfinite(
            loss_fn(dist.float(), labels, num_dims=4, weight=torch.ones(6), avg_factor=6.0)
        )
    # +inf distance of the true class (its probability is 0): infinite loss
    dist = _distances().detach()
    dist[1, 0] = float('inf')
    assert ICULoss(alpha=0.0, gamma=0.0)(dist, labels, reduction_override='none')[1] == float('inf')


@pytest.mark.parametrize('name', ['alpha', 'gamma', 'loss_weight'])
@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_hyper_parameters_are_rejected(name, bad):
    """Issue 26: ``alpha < 0`` was checked, but NaN < 0 is False and inf passed too."""
    with pytest.raises(ValueError, match=f'invalid {name}='):
        ICULoss(**{name: bad})


def test_hyper_parameter_bounds_and_types():
    with pytest.raises(ValueError, match=r'invalid gamma=-0\.5: expected gamma >= 0'):
        ICULoss(gamma=-0.5)
    with pytest.raises(TypeError, match='invalid alpha=True'):  # booleans are not numbers
        ICULoss(alpha=True)
    loss = ICULoss(alpha=0, gamma=1)
    assert (loss.alpha, loss.gamma) == (0.0, 1.0)
