"""GaussianClassifier: Eq. 9/19 distances, Eq. 14 terms and their gradients against explicit
loop transcriptions (float64), numerical robustness (far features, tiny variances, fp16,
autocast), the log-variance clamp and error messages."""

import math

import pytest
import torch

from mmext.models.layers import GaussianClassifier
from mmext.registry import MODELS
from tests.models.icu_reference import eq9_distances, eq14_terms


def _layer(d=3, k=4, use_log_det=True, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    layer = GaussianClassifier(d, k, use_log_det=use_log_det, init_std=1.0).to(dtype)
    with torch.no_grad():
        layer.log_vars.uniform_(-1.0, 1.0)
    return layer


def _functional(
    x,
    means,
    log_vars,
    labels=None,
    reg_mask=None,
    reduction='sum',
    use_log_det=True,
    reg_to_features=True,
):
    """Run a GaussianClassifier whose parameters are the given (differentiable) tensors."""
    layer = GaussianClassifier(
        x.shape[1], means.shape[0], use_log_det=use_log_det, reg_to_features=reg_to_features
    )
    del layer.means, layer.log_vars
    layer.means, layer.log_vars = means, log_vars
    if labels is None:
        return layer.distances(x)
    return layer.forward_train(x, labels, reg_mask, reduction)


def _inputs(n=8, d=3, k=4, seed=1):
    torch.manual_seed(seed)
    x = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    means = torch.randn(k, d, dtype=torch.float64, requires_grad=True)
    log_vars = torch.empty(k, d, dtype=torch.float64).uniform_(-1, 1).requires_grad_()
    return x, means, log_vars


@pytest.mark.parametrize('use_log_det', [True, False])
@pytest.mark.parametrize('with_labels', [False, True])
def test_distances_match_eq9(use_log_det, with_labels):
    layer = _layer(use_log_det=use_log_det)
    x = torch.randn(6, 3, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 0, 2]) if with_labels else None
    ref = eq9_distances(x, layer.means, layer.log_vars, use_log_det)
    torch.testing.assert_close(layer.distances(x, labels), ref, rtol=1e-10, atol=1e-10)
    # logits are -d (Eq. 8 with equal priors)
    torch.testing.assert_close(layer(x), -ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('reduction', ['sum', 'mean'])
def test_gradcheck(reduction):
    x, means, log_vars = _inputs(n=7)
    labels = torch.tensor([0, 1, 2, 3, 0, 0, 2])
    reg_mask = torch.tensor([1, 1, 0, 1, 1, 0, 1], dtype=torch.bool)
    assert torch.autograd.gradcheck(
        lambda a, b, c: _functional(a, b, c, labels, reg_mask, reduction), (x, means, log_vars)
    )
    assert torch.autograd.gradcheck(lambda a, b, c: _functional(a, b, c), (x, means, log_vars))


@pytest.mark.parametrize('use_log_det', [True, False])
@pytest.mark.parametrize('masked', [False, True])
def test_values_and_gradients_match_loop_transcription(use_log_det, masked):
    x, means, log_vars = _inputs()
    labels = [0, 1, 1, 3, 0, 0, 1, 3]  # class 2 absent from the batch
    reg_mask = torch.tensor([1, 0, 1, 1, 1, 0, 1, 1], dtype=torch.bool) if masked else None
    reg_rows = [i for i in range(8) if reg_mask is None or reg_mask[i]]
    probe = torch.randn(8, 4, dtype=torch.float64)

    def objective(dist, reg_mu, reg_sigma):
        return (dist * probe).sum() + 0.3 * reg_mu + 0.7 * reg_sigma

    dist, reg_mu, reg_sigma = _functional(
        x, means, log_vars, torch.tensor(labels), reg_mask, 'sum', use_log_det
    )
    ref_dist = eq9_distances(x, means, log_vars, use_log_det)
    ref_mu, ref_sigma = eq14_terms(x[reg_rows], [labels[i] for i in reg_rows], means, log_vars)
    torch.testing.assert_close(dist, ref_dist, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(reg_mu, ref_mu, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(reg_sigma, ref_sigma, rtol=1e-10, atol=1e-10)
    grads = torch.autograd.grad(objective(dist, reg_mu, reg_sigma), (x, means, log_vars))
    ref_grads = torch.autograd.grad(objective(ref_dist, ref_mu, ref_sigma), (x, means, log_vars))
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('masked', [False, True])
def test_reg_to_features_false_detaches_the_batch_moments(masked):
    """reg_to_features=False: the Eq. 14 terms see the features as constants (the batch
    moments are targets; Eqs. 15-16 give gradients for mu_k, sigma_k only), the distances
    keep their feature gradient; values are unchanged."""
    x, means, log_vars = _inputs()
    labels = [0, 1, 1, 3, 0, 0, 1, 3]
    reg_mask = torch.tensor([1, 0, 1, 1, 1, 0, 1, 1], dtype=torch.bool) if masked else None
    reg_rows = [i for i in range(8) if reg_mask is None or reg_mask[i]]
    probe = torch.randn(8, 4, dtype=torch.float64)
    dist, reg_mu, reg_sigma = _functional(
        x, means, log_vars, torch.tensor(labels), reg_mask, 'sum', True, False
    )
    ref_dist = eq9_distances(x, means, log_vars, True)
    x_const = x.detach()
    ref_mu, ref_sigma = eq14_terms(
        x_const[reg_rows], [labels[i] for i in reg_rows], means, log_vars
    )
    torch.testing.assert_close(reg_mu, ref_mu, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(reg_sigma, ref_sigma, rtol=1e-10, atol=1e-10)
    got = torch.autograd.grad(
        (dist * probe).sum() + 0.3 * reg_mu + 0.7 * reg_sigma, (x, means, log_vars)
    )
    want = torch.autograd.grad(
        (ref_dist * probe).sum() + 0.3 * ref_mu + 0.7 * ref_sigma, (x, means, log_vars)
    )
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-9)
    # the regulariser alone sends nothing to the features, but moves the parameters
    _, reg_mu, reg_sigma = _functional(
        x, means, log_vars, torch.tensor(labels), reg_mask, 'sum', True, False
    )
    gx, gm, gl = torch.autograd.grad(reg_mu + reg_sigma, (x, means, log_vars))
    assert torch.count_nonzero(gx) == 0
    assert torch.count_nonzero(gm) > 0 and torch.count_nonzero(gl) > 0


def test_gradcheck_reg_to_features_false():
    x, means, log_vars = _inputs(n=7)
    labels = torch.tensor([0, 1, 2, 3, 0, 0, 2])
    assert torch.autograd.gradcheck(
        lambda b, c: _functional(x.detach(), b, c, labels, None, 'mean', True, False),
        (means, log_vars),
    )


def test_regularizer_reduction_mean_divides_by_classes_and_dims():
    x, means, log_vars = _inputs()
    labels = torch.tensor([0, 1, 1, 3, 0, 0, 1, 3])  # 3 classes present, D = 3
    _, mu_sum, sigma_sum = _functional(x, means, log_vars, labels, None, 'sum')
    _, mu_mean, sigma_mean = _functional(x, means, log_vars, labels, None, 'mean')
    torch.testing.assert_close(mu_mean * 9, mu_sum)
    torch.testing.assert_close(sigma_mean * 9, sigma_sum)


def test_eq15_eq16_parameter_gradients():
    """Per dimension, with features fixed: ∂R/∂σ = 4λ_σ(σ²−σ̄²)σ (Eq. 16) and
    ∂R/∂μ = [2λ_μ − 4λ_σ(σ²−σ̄²)](μ−μ̄) (Eq. 15, whose second term the paper prints with
    a + sign; differentiating Eq. 14 with Eq. 13 gives −)."""
    lam_mu, lam_sigma = 0.1, 0.1
    x = torch.tensor([[0.5, -1.0], [1.5, 2.0], [1.0, 0.5]], dtype=torch.float64)
    means = torch.tensor([[0.2, 0.3]], dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor([[0.9, 1.7]], dtype=torch.float64, requires_grad=True)
    log_vars = 2 * torch.log(sigma)
    _, reg_mu, reg_sigma = _functional(x, means, log_vars, torch.zeros(3, dtype=torch.long))
    grad_mu, grad_sigma = torch.autograd.grad(
        lam_mu * reg_mu + lam_sigma * reg_sigma, (means, sigma)
    )
    for j in range(2):
        mu_bar = x[:, j].mean()
        var_bar = ((x[:, j] - means[0, j]) ** 2).mean()
        s2 = sigma[0, j] ** 2
        eq16 = 4 * lam_sigma * (s2 - var_bar) * sigma[0, j]
        eq15 = (2 * lam_mu - 4 * lam_sigma * (s2 - var_bar)) * (means[0, j] - mu_bar)
        # features fixed: the gradient w.r.t. μ of the full objective equals Eq. 15
        assert math.isclose(grad_sigma[0, j].item(), eq16.item(), rel_tol=1e-10)
        assert math.isclose(grad_mu[0, j].item(), eq15.item(), rel_tol=1e-10)


def test_subnormal_upstream_gradients_count_as_zero():
    """Entries of ∂L/∂d of magnitude <= the smallest normal float are dropped before the
    backward GEMMs (subnormals make CPU GEMMs slow and carry nothing): the gradients equal
    those of the same upstream gradient with these entries set to 0; a class whose column
    holds only such entries gets exactly zero parameter gradient."""
    x, means, log_vars = _inputs()
    labels = torch.tensor([0, 1, 1, 3, 0, 0, 1, 3])
    torch.manual_seed(4)
    probe = torch.randn(8, 4, dtype=torch.float64)
    tiny = torch.finfo(torch.float64).tiny
    probe[:, 1] = tiny  # at the bound: normal, but dropped (sums of them are not tiny)
    probe[::2, 2] = -0.5 * tiny  # subnormal
    clean = probe.clone()
    clean[:, 1] = 0.0
    clean[::2, 2] = 0.0
    params = (x, means, log_vars)
    for lab in (None, labels):
        grads = []
        for upstream in (probe, clean):
            dist = _functional(x, means, log_vars, lab)
            dist = dist if lab is None else dist[0]
            grads.append(torch.autograd.grad(dist, params, upstream))
        for got, want in zip(*grads):
            assert torch.equal(got, want)
        assert torch.all(grads[0][1][1] == 0) and torch.all(grads[0][2][1] == 0)


def test_far_features_stay_finite():
    layer = GaussianClassifier(8, 5, init_std=1.0)
    x = layer.means.detach()[[3, 1]] * 1e6  # far from every mean
    x.requires_grad_(True)
    dist, reg_mu, reg_sigma = layer.forward_train(x, torch.tensor([3, 1]))
    loss = torch.logsumexp(-dist, 1).sum() + dist.sum() + reg_mu + reg_sigma
    loss.backward()
    for t in (dist, loss, x.grad, layer.means.grad, layer.log_vars.grad):
        assert torch.isfinite(t).all()


def test_tiny_variances_true_class_is_exact():
    """With the smallest variances and features offset by 100 the float32 GEMM expansion
    loses digits; the true-class entries (the ones the loss uses) stay exact."""
    torch.manual_seed(0)
    layer = GaussianClassifier(64, 10, init_std=1.0, log_var_range=(-10.0, 10.0))
    with torch.no_grad():
        layer.means.add_(100.0)
        layer.log_vars.fill_(-11.0)  # below the range: clamped to -10
    labels = torch.arange(10).repeat(3)
    x = layer.means.detach()[labels] + 1e-2 * torch.randn(30, 64)
    dist = layer.distances(x, labels)
    ref = eq9_distances(
        x.double()[:4], layer.means.double(), torch.full((10, 64), -10.0, dtype=torch.float64)
    )
    assert torch.isfinite(dist).all()
    true_ours = dist[torch.arange(4), labels[:4]].double()
    true_ref = ref[torch.arange(4), labels[:4]]
    torch.testing.assert_close(true_ours, true_ref, rtol=1e-5, atol=0.0)
    assert torch.equal(dist.argmin(1), labels)


def test_fp16_features_and_autocast_give_float32():
    layer = GaussianClassifier(16, 6, init_std=1.0)
    x = torch.randn(5, 16).half()
    dist = layer.distances(x)
    assert dist.dtype == torch.float32 and torch.isfinite(dist).all()
    torch.testing.assert_close(dist, layer.distances(x.float()))
    big = (torch.randn(5, 16) * 200).half()  # (x − μ)² overflows fp16, not float32
    with torch.autocast('cpu', dtype=torch.bfloat16):
        dist = layer.distances(big, torch.tensor([0, 1, 2, 3, 4]))
    assert dist.dtype == torch.float32 and torch.isfinite(dist).all()
    assert dist.max() > 65504 / 2  # beyond the fp16 range: computed in float32


def test_log_variance_clamp_and_inward_gradient():
    layer = GaussianClassifier(2, 2, log_var_range=(-1.0, 1.0), init_std=1.0)
    with torch.no_grad():
        layer.log_vars.copy_(torch.tensor([[-3.0, 0.0], [3.0, 0.5]]))
    torch.testing.assert_close(layer.variances(), torch.tensor([[-1.0, 0.0], [1.0, 0.5]]).exp())
    torch.testing.assert_close(layer.log_dets(), torch.tensor([-1.0, 1.5]))
    x = layer.means.detach().clone()
    # distance of a sample at its mean: ½ ln|Σ| only, so ∂d/∂log_var = ½ > 0 (descent
    # lowers log_var): the value below the range must not get it, the one above must.
    dist = layer.distances(x)
    dist[0, 0].backward(retain_graph=True)
    assert layer.log_vars.grad[0, 0] == 0  # below range, gradient points outward
    layer.log_vars.grad = None
    dist[1, 1].backward()
    assert layer.log_vars.grad[1, 0] == pytest.approx(0.5, abs=1e-5)  # above, inward
    with pytest.raises(ValueError, match='min < max'):
        GaussianClassifier(2, 2, log_var_range=(1.0, 1.0))
    with pytest.raises(ValueError, match='outside log_var_range'):
        GaussianClassifier(2, 2, log_var_range=(-1.0, 1.0), init_log_var=2.0)


def test_clear_errors():
    layer = GaussianClassifier(4, 3)
    with pytest.raises(ValueError, match=r'expects features of shape \(N, 4\), got \(2, 5\)'):
        layer.distances(torch.randn(2, 5))
    with pytest.raises(ValueError, match='expects features'):
        layer(torch.randn(2, 4, 1, 1))
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\)'):
        layer.forward_train(torch.randn(2, 4), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='2 labels for 3 features'):
        layer.forward_train(torch.randn(3, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="'sum' or 'mean'"):
        layer.forward_train(torch.randn(2, 4), torch.tensor([0, 1]), reg_reduction='max')


def test_registry_and_shapes():
    layer = MODELS.build(dict(type='mmext.GaussianClassifier', in_features=5, out_features=7))
    assert isinstance(layer, GaussianClassifier)
    assert layer.means.shape == layer.log_vars.shape == (7, 5)
    assert torch.all(layer.log_vars == 0)
    dist, reg_mu, reg_sigma = layer.forward_train(
        torch.randn(0, 5), torch.zeros(0, dtype=torch.long)
    )
    assert dist.shape == (0, 7) and reg_mu == 0 and reg_sigma == 0


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
@pytest.mark.parametrize('use_log_det', [True, False])
def test_non_finite_features_and_parameters_are_not_hidden(bad, use_log_det):
    """The clamps of the layer (distances at 0, log-variances to log_var_range) and the
    hardshrink of the backward must not turn NaN / inf into finite values."""
    labels = torch.tensor([0, 1, 3, 3, 2, 0])
    layer = _layer(use_log_det=use_log_det)
    x = torch.randn(6, 3, dtype=torch.float64)
    x[2, 1] = bad
    x.requires_grad_(True)
    dist, reg_mu, reg_sigma = layer.forward_train(x, labels)
    assert not torch.isfinite(dist[2]).any() and torch.isfinite(dist[[0, 1, 3, 4, 5]]).all()
    assert not torch.isfinite(layer(x)[2]).any()
    assert not torch.isfinite(reg_mu + reg_sigma)
    (dist.sum() + reg_mu + reg_sigma).backward()
    assert not torch.isfinite(x.grad[2]).all()
    # a non-finite parameter: a NaN log-variance passes the clamp, an inf / NaN mean too
    for name in ('means', 'log_vars'):
        layer = _layer(use_log_det=use_log_det)
        with torch.no_grad():
            getattr(layer, name)[1, 0] = bad if name == 'means' else float('nan')
        dist, reg_mu, reg_sigma = layer.forward_train(x.detach(), labels)
        assert not torch.isfinite(dist[:, 1]).any(), name
        (dist.sum() + reg_mu + reg_sigma).backward()
        assert not torch.isfinite(getattr(layer, name).grad).all(), name


def test_block_outward_equals_the_inward_mask():
    """The float-only blocking of the fused backward zeroes exactly the entries of
    inward_mask (below the range with a positive gradient, above it with a negative one)."""
    from mmext.models.layers.gaussian_classifier_ops import block_outward, inward_mask

    g = torch.Generator().manual_seed(0)
    log_vars = torch.randn(40, 30, generator=g) * 8  # many entries out of [-10, 10]
    log_vars[0, :4] = torch.tensor([-10.0, 10.0, -12.0, 12.0])  # on the bounds and beyond
    grad = torch.randn(40, 30, generator=g)
    grad[1, :5] = 0.0
    want = grad.masked_fill(inward_mask(log_vars, grad, -10.0, 10.0), 0.0)
    got = block_outward(grad.clone(), log_vars, -10.0, 10.0)
    assert torch.equal(got, want)
    assert (want == 0).sum() > 50  # the case is exercised


@pytest.fixture(params=['host', 'device'])
def branch(request, monkeypatch):
    """Run a test on the host branch (CPU tensors: label checks and Eq. 14 slots read values)
    and on the device branch (what CUDA runs: no value is read back), on CPU tensors."""
    if request.param == 'device':
        from mmext.models.losses import utils

        monkeypatch.setattr(utils, '_checked_on_host', lambda tensor: False)
    return request.param


@pytest.mark.parametrize('masked', [False, True])
@pytest.mark.parametrize('n, k', [(12, 5), (5, 9), (1, 3), (30, 4)])
def test_class_slots_match_unique(masked, n, k, branch):
    """The slots of Eq. 14 hold exactly the classes torch.unique finds among the selected
    samples, one slot per class, with 1 / n_k; on the device branch (sort + run starts, no
    unique / bincount) unused slots are off and have 1 / n_k = 0."""
    from mmext.models.layers.gaussian_classifier_ops import class_slots

    g = torch.Generator().manual_seed(n + k)
    labels = torch.randint(0, k, (n,), generator=g)
    reg_mask = torch.rand(n, generator=g) < 0.6 if masked else None
    local, classes, inv_n, on, num_present = class_slots(labels, k, reg_mask, torch.float64)
    present = torch.ones(classes.numel(), dtype=torch.bool) if on is None else on[:, 0] > 0
    if branch == 'device':
        assert classes.shape == (min(n, k + 1),)
    selected = labels if reg_mask is None else labels[reg_mask]
    assert classes[present].tolist() == torch.unique(selected).tolist()
    assert int(num_present) == torch.unique(selected).numel()
    for i in range(n):
        if reg_mask is None or reg_mask[i]:
            assert present[local[i]] and classes[local[i]] == labels[i]
            assert inv_n[local[i], 0] == 1.0 / int((selected == labels[i]).sum())
        else:
            assert not present[local[i]]
    assert torch.all(inv_n[~present] == 0)


@pytest.mark.parametrize('use_log_det', [True, False])
@pytest.mark.parametrize('masked', [False, True])
@pytest.mark.parametrize('reduction', ['sum', 'mean'])
def test_both_branches_match_loop_transcription(use_log_det, masked, reduction, branch):
    """Distances, Eq. 14 terms and all gradients against the loop transcriptions, on the host
    and the device branch (the same numbers up to rounding)."""
    x, means, log_vars = _inputs()
    with torch.no_grad():
        log_vars[0, 0], log_vars[1, 1] = 12.0, -12.0  # out of range: outward gradients blocked
    labels = [0, 1, 1, 3, 0, 0, 1, 3]
    reg_mask = torch.tensor([1, 0, 1, 1, 1, 0, 1, 1], dtype=torch.bool) if masked else None
    rows = [i for i in range(8) if reg_mask is None or reg_mask[i]]
    dist, reg_mu, reg_sigma = _functional(
        x, means, log_vars, torch.tensor(labels), reg_mask, reduction, use_log_det
    )
    clamped = log_vars.detach().clamp(-10.0, 10.0).requires_grad_()
    ref_dist = eq9_distances(x, means, clamped, use_log_det=use_log_det)
    ref_mu, ref_sigma = eq14_terms(x[rows], [labels[i] for i in rows], means, clamped)
    if reduction == 'mean':
        scale = 1.0 / (len({labels[i] for i in rows}) * 3)
        ref_mu, ref_sigma = ref_mu * scale, ref_sigma * scale
    torch.testing.assert_close(dist, ref_dist)
    torch.testing.assert_close(reg_mu, ref_mu)
    torch.testing.assert_close(reg_sigma, ref_sigma)
    weights = torch.rand(8, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    # negative Eq. 14 weights: their gradient at log_vars[0, 0] (σ² = e^10) points outward
    total = (dist * weights).sum() - 0.3 * reg_mu - 0.2 * reg_sigma
    ref_total = (ref_dist * weights).sum() - 0.3 * ref_mu - 0.2 * ref_sigma
    got = torch.autograd.grad(total, (x, means, log_vars))
    want = list(torch.autograd.grad(ref_total, (x, means, clamped)))
    # out of range, the gradient is kept only where descent moves back in (InwardClamp)
    assert want[2][0, 0] < 0 and want[2][1, 1] < 0  # one outward (blocked), one inward
    want[2][0, 0] = 0.0  # 12 > 10 and descent would raise it further: blocked
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def test_unselected_samples_do_not_enter_eq14():
    """A far-off feature of a sample outside reg_mask does not enter Eq. 14: values and
    gradients equal the transcription over the selected samples (as indexing them did), and
    that sample gets no Eq. 14 gradient (exactly 0, not 0 times its feature)."""
    x, means, log_vars = _inputs()
    labels = [0, 1, 1, 3, 0, 0, 1, 3]
    reg_mask = torch.tensor([1, 0, 1, 1, 1, 0, 1, 1], dtype=torch.bool)
    bad = x.detach().clone()
    bad[1] = 1e8
    bad.requires_grad_()
    _, reg_mu, reg_sigma = _functional(bad, means, log_vars, torch.tensor(labels), reg_mask)
    rows = [i for i in range(8) if reg_mask[i]]
    ref_mu, ref_sigma = eq14_terms(x[rows], [labels[i] for i in rows], means, log_vars)
    torch.testing.assert_close(reg_mu, ref_mu)
    torch.testing.assert_close(reg_sigma, ref_sigma)
    got = torch.autograd.grad(reg_mu + reg_sigma, (bad, means, log_vars))
    want = torch.autograd.grad(ref_mu + ref_sigma, (x, means, log_vars))
    assert torch.all(got[0][1] == 0)  # the unselected sample gets no Eq. 14 gradient
    torch.testing.assert_close(got[0][rows], want[0][rows])
    torch.testing.assert_close(got[1], want[1])
    torch.testing.assert_close(got[2], want[2])
