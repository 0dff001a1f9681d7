"""LGMLoss (L-GM, Wan et al. 2018) and the three readings of ICU Eq. 18, against loop
transcriptions written from the papers' formulas (tests/models/icu_reference.py), with float64
gradchecks."""

import pytest
import torch

from mmext.models.heads.icu_cls_head import ICUClsHead
from mmext.models.layers import GaussianClassifier
from mmext.models.losses import ICULoss, LGMLoss
from mmext.registry import MODELS
from tests.models.icu_reference import eq9_distances, eq17_loss, eq18_readings_loss, lgm_loss

LABELS = [1, 0, 3, 3, 2]


def _setup(seed=3, d=3, k=4):
    torch.manual_seed(seed)
    layer = GaussianClassifier(d, k, init_std=1.0).double()
    with torch.no_grad():
        layer.log_vars.uniform_(-0.7, 0.7)
    x = torch.randn(len(LABELS), d, dtype=torch.float64, requires_grad=True)
    return layer, x


def _lgm(layer, x, alpha, lam, labels=LABELS):
    labels = torch.tensor(labels)
    return LGMLoss(alpha=alpha, lambda_lkd=lam)(
        layer.distances(x, labels), labels, log_dets=layer.log_dets()
    )


@pytest.mark.parametrize('alpha,lam', [(0.1, 0.01), (1.0, 0.1), (0.0, 0.0), (0.3, 0.0)])
def test_lgm_matches_transcription(alpha, lam):
    layer, x = _setup()
    ours = _lgm(layer, x, alpha, lam)
    ref = lgm_loss(x, layer.means, layer.log_vars, LABELS, alpha, lam)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    params = (x, layer.means, layer.log_vars)
    for got, want in zip(torch.autograd.grad(ours, params), torch.autograd.grad(ref, params)):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_lgm_gradcheck_float64():
    labels = torch.tensor(LABELS)
    loss = LGMLoss(alpha=0.4, lambda_lkd=0.2)
    torch.manual_seed(5)
    dist = torch.rand(5, 4, dtype=torch.float64, requires_grad=True)
    log_dets = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda d, ld: loss(d, labels, log_dets=ld), (dist, log_dets))


def test_lgm_without_margin_and_likelihood_is_cross_entropy_of_the_posterior():
    """α = λ = 0: plain CE of −D (D = d + ½ln|Λ|), independent of the log-dets passed."""
    dist = torch.rand(5, 4, dtype=torch.float64) * 3
    labels = torch.tensor(LABELS)
    got = LGMLoss(alpha=0.0, lambda_lkd=0.0)(dist, labels, log_dets=torch.randn(4).double())
    torch.testing.assert_close(got, torch.nn.functional.cross_entropy(-dist, labels))


def test_lgm_hand_value():
    """K = 2, one sample of class 0: D = (1, 2), ln|Λ| = (2, 0), α = 1, λ = 0.5.
    True logit −(1+1)(1 − 1) − 1 = −1, other −2: CE = log(1 + e^{−1}); L_lkd = D_z = 1."""
    got = LGMLoss(alpha=1.0, lambda_lkd=0.5)(
        torch.tensor([[1.0, 2.0]]), torch.tensor([0]), log_dets=torch.tensor([2.0, 0.0])
    )
    want = torch.log1p(torch.exp(torch.tensor(-1.0))) + 0.5
    torch.testing.assert_close(got, want)


def test_lgm_errors_and_registry():
    loss = MODELS.build(dict(type='mmext.LGMLoss', alpha=0.1, lambda_lkd=0.01))
    assert isinstance(loss, LGMLoss) and loss.loss_name == 'loss_lgm'
    with pytest.raises(ValueError, match='log_dets'):
        loss(torch.rand(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='alpha >= 0'):
        LGMLoss(alpha=-1.0)
    empty = loss(
        torch.zeros(0, 3, requires_grad=True),
        torch.zeros(0, dtype=torch.long),
        log_dets=torch.zeros(3, requires_grad=True),
    )
    assert empty.item() == 0 and empty.requires_grad


@pytest.mark.parametrize('reading', ['covariance', 'log_det', 'literal'])
@pytest.mark.parametrize('alpha,gamma', [(1e-4, 1e-3), (0.3, 0.5)])
def test_eq18_readings_match_transcription(reading, alpha, gamma):
    layer, x = _setup(seed=7)
    labels = torch.tensor(LABELS)
    loss = ICULoss(alpha=alpha, gamma=gamma, gamma_reading=reading)
    ours = loss(layer.distances(x, labels), labels, num_dims=3, log_dets=layer.log_dets())
    ref = eq18_readings_loss(x, layer.means, layer.log_vars, LABELS, alpha, gamma, reading)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    params = (x, layer.means, layer.log_vars)
    for got, want in zip(torch.autograd.grad(ours, params), torch.autograd.grad(ref, params)):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_default_reading_is_the_documented_one():
    """The default is ln|(1+γ)Σ_z| (the transcription of tests/models/icu_reference.eq17_loss)."""
    layer, x = _setup(seed=2)
    labels = torch.tensor(LABELS)
    ours = ICULoss(alpha=0.2, gamma=0.3)(layer.distances(x, labels), labels, num_dims=3)
    ref = eq17_loss(eq9_distances(x, layer.means, layer.log_vars), LABELS, 0.2, 0.3, 3)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_log_det_reading_gradcheck_and_errors():
    labels = torch.tensor(LABELS)
    loss = ICULoss(alpha=0.3, gamma=0.4, gamma_reading='log_det')
    assert loss.needs_log_dets and not ICULoss().needs_log_dets
    dist = torch.rand(5, 4, dtype=torch.float64, requires_grad=True)
    log_dets = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda d, ld: loss(d, labels, num_dims=3, log_dets=ld), (dist, log_dets)
    )
    with pytest.raises(ValueError, match='log_dets'):
        loss(dist, labels, num_dims=3)
    with pytest.raises(ValueError, match='gamma_reading'):
        ICULoss(gamma_reading='det')


def test_head_lgm_mode_matches_transcription():
    from mmpretrain.structures import DataSample

    torch.manual_seed(0)
    head = ICUClsHead(
        num_classes=4,
        in_channels=3,
        mode='lgm',
        alpha=0.5,
        gamma=0.0,
        lambda_lkd=0.1,
        lambda_mu=0.0,
        lambda_sigma=0.0,
    ).double()
    with torch.no_grad():
        head.log_vars.uniform_(-0.5, 0.5)
    x = torch.randn(5, 3, dtype=torch.float64)
    losses = head.loss((x,), [DataSample().set_gt_label(z) for z in LABELS])
    ref = lgm_loss(x, head.means, head.log_vars, LABELS, 0.5, 0.1)
    # the head's mean divides by avg_factor + float32 eps (mmpretrain/mmdet convention)
    torch.testing.assert_close(losses['loss_lgm'], ref, rtol=1e-7, atol=1e-12)
    assert losses['loss_icu_reg'].item() == 0
    with pytest.raises(ValueError, match="mode='lgm'"):
        ICUClsHead(num_classes=4, in_channels=3, mode='lgm')  # gamma 1e-3 by default


@pytest.mark.parametrize('name', ['alpha', 'lambda_lkd', 'loss_weight'])
@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_lgm_non_finite_hyper_parameters_are_rejected(name, bad):
    """Issue 26: NaN passed ``alpha < 0 or lambda_lkd < 0`` (NaN < 0 is False)."""
    with pytest.raises(ValueError, match=f'invalid {name}='):
        LGMLoss(**{name: bad})


def test_lgm_hyper_parameter_bounds_and_types():
    with pytest.raises(ValueError, match=r'expected lambda_lkd >= 0'):
        LGMLoss(lambda_lkd=-0.01)
    with pytest.raises(TypeError, match='invalid lambda_lkd=False'):
        LGMLoss(lambda_lkd=False)
