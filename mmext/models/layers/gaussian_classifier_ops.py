"""Fused autograd kernels of :class:`~mmext.models.layers.GaussianClassifier`.

One :class:`torch.autograd.Function` computes, for features ``x`` (N, D), means ``μ`` (K, D)
and log-variances ``ℓ`` (K, D, used clamped to ``[lo, hi]``; ``s = clamp(ℓ)``, ``w = e^{-s}``,
``v = e^{s}``):

* the decision distances ``d_ik = ½[Σ_j w_kj (x_ij − μ_kj)² + Σ_j s_kj]`` (ICU Eq. 9/19; the
  log-determinant is omitted for L-GM, Eq. 5), for all pairs through two GEMMs on features
  and means centred at the (constant) mean of the means, clamped at 0 before the
  log-determinant is added (rounding residue only; transparent to the gradient);
* with labels ``z``: the true-class entries ``d_{i z_i}`` recomputed directly from
  ``x_i − μ_{z_i}`` (no GEMM cancellation, value and gradient), and the two terms of the
  regulariser of Eq. 14 over the classes present among the selected samples,
  ``R_μ = Σ_k ‖μ_k − μ̄_k‖²`` and ``R_σ = Σ_k ‖v_k − σ̄²_k‖²`` with ``μ̄_k`` the mean of the
  class-k features (Eq. 12) and ``σ̄²_k`` their mean squared deviation around the parameter
  ``μ_k`` (Eq. 13).

The backward pass is written out (four GEMMs, O(N·D) work for the labelled terms, in-place
accumulation into one (K, D) gradient per parameter) because autograd's chain of (K, D)
temporaries costs as much as the GEMMs when K·D is large. With ``G = ½ ∂L/∂d``,
``g_k = Σ_i G_ik``, ``x`` and ``μ`` centred:

* ``∂x = 2x∘(G w) − 2G(μ∘w)``; ``∂μ = 2w∘(g∘μ − Gᵀx)``;
* ``∂w = Gᵀ(x∘x) − 2μ∘(Gᵀx) + g∘μ²``; ``∂s = −w∘∂w (+ Σ_i G_ik from ½ ln|Σ_k|)``;
* Eq. 14 with ``e1 = μ_k − μ̄_k``, ``e2 = v_k − σ̄²_k``, ``a = ∂L/∂R_μ``, ``c = ∂L/∂R_σ``:
  ``∂μ_k = 2a e1 − 4c e2∘e1``, ``∂s_k = 2c e2∘v_k``,
  ``∂x_i = −(2/n_k)[a e1 + 2c e2∘(x_i − μ_k)]`` (``n_k`` samples of class k).

The gradient of ``ℓ`` is blocked only where a descent step would move an out-of-range value
further out (:func:`inward_mask`). Entries of ``G`` below the smallest normal float (the
subnormal tails of a softmax over far-apart Gaussians) are set to 0 before the GEMMs: they
carry nothing at float precision and make CPU GEMMs orders of magnitude slower.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def inward_mask(log_vars: Tensor, grad: Tensor, lo: float, hi: float) -> Tensor:
    """True where a descent step along ``grad`` moves ``log_vars`` further out of range.

    Args:
        log_vars (Tensor): Raw (unclamped) values.
        grad (Tensor): Their gradient.
        lo (float): Lower bound.
        hi (float): Upper bound.

    Returns:
        Tensor: Boolean mask, same shape.
    """
    return ((log_vars < lo) & (grad > 0)) | ((log_vars > hi) & (grad < 0))


class InwardClamp(torch.autograd.Function):
    """``clamp(x, lo, hi)`` whose gradient is blocked only where it points further out.

    Inside the range this is the identity (value and gradient); outside, the value is the
    bound and the gradient is kept when a descent step moves ``x`` back towards the range,
    so a value pushed out of range by an optimiser step or weight decay is never stuck.
    """

    @staticmethod
    def forward(ctx, x: Tensor, lo: float, hi: float) -> Tensor:  # noqa: D102
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Tensor, None, None]:  # noqa: D102
        x, = ctx.saved_tensors
        return grad.masked_fill(inward_mask(x, grad, ctx.lo, ctx.hi), 0.), None, None


class GaussianDistances(torch.autograd.Function):
    """Distances (+ exact true-class entries and Eq. 14 terms when labels are given)."""

    @staticmethod
    def forward(ctx, x: Tensor, means: Tensor, log_vars: Tensor,
                labels: Optional[Tensor], reg_index: Optional[Tensor], lo: float,
                hi: float, use_log_det: bool,
                reg_mean: bool) -> Tuple[Tensor, Tensor, Tensor]:  # noqa: D102
        num_dims = x.size(1)
        lv_min, lv_max = torch.aminmax(log_vars)
        ctx.outside = bool((lv_min < lo) | (lv_max > hi))
        # rhs = [w | -2 μ∘w] (K, 2D), lhs = [x∘x | x] (N, 2D): one GEMM for all pairs
        rhs = means.new_empty(means.size(0), 2 * num_dims)
        w, mw = rhs[:, :num_dims], rhs[:, num_dims:]
        torch.clamp(log_vars, lo, hi, out=w)  # s
        log_det = w.sum(1) if use_log_det else None
        w.neg_().exp_()  # w = exp(-s)
        ref = means.mean(0)
        mc = means - ref
        xc = x - ref
        torch.mul(mc, w, out=mw)
        bias = torch.linalg.vecdot(mc, mw)  # Σ_j w μ²
        mw.mul_(-2.)
        lhs = torch.cat([xc * xc, xc], dim=1)
        dist = torch.addmm(bias, lhs, rhs.t()).clamp_(min=0.).mul_(0.5)
        if log_det is not None:
            dist.add_(0.5 * log_det)
        ctx.use_log_det, ctx.lo, ctx.hi = use_log_det, lo, hi
        ctx.with_labels = labels is not None
        reg_mu = reg_sigma = x.new_zeros(())
        if labels is None:
            ctx.save_for_backward(lhs, mc, rhs, log_vars)
            return dist, reg_mu, reg_sigma
        # exact true-class entries: ½[Σ_j w_zj (x_j − μ_zj)² (+ ln|Σ_z|)]
        diff = xc - mc.index_select(0, labels)
        w_true = w.index_select(0, labels)
        exact = (diff * diff * w_true).sum(1)
        if log_det is not None:
            exact += log_det.index_select(0, labels)
        dist.scatter_(1, labels.view(-1, 1), 0.5 * exact.view(-1, 1))
        # Eq. 14 over the classes present among the samples reg_index
        r_local_diff = diff.index_select(0, reg_index)
        r_xc = xc.index_select(0, reg_index)
        classes, local = torch.unique(labels.index_select(0, reg_index),
                                      return_inverse=True)
        counts = torch.bincount(local, minlength=classes.numel()).to(x.dtype)
        inv_n = (1. / counts.clamp_min(1.)).unsqueeze(1)
        mc_p = mc.index_select(0, classes)
        e1 = mc_p - torch.zeros_like(mc_p).index_add_(0, local, r_xc).mul_(inv_n)
        v = torch.exp(log_vars.index_select(0, classes).clamp(lo, hi))
        e2 = v - torch.zeros_like(v).index_add_(
            0, local, r_local_diff * r_local_diff).mul_(inv_n)
        num_present = classes.numel()
        scale = 1. / (num_present * num_dims) if reg_mean and num_present else 1.
        reg_mu = (e1 * e1).sum() * scale
        reg_sigma = (e2 * e2).sum() * scale
        ctx.scale = scale
        ctx.save_for_backward(lhs, mc, rhs, log_vars, labels, diff, w_true, reg_index,
                              classes, local, inv_n, e1, e2, v)
        return dist, reg_mu, reg_sigma

    @staticmethod
    def backward(ctx, grad_dist: Tensor, grad_reg_mu: Tensor, grad_reg_sigma: Tensor):  # noqa: D102,E501
        saved = ctx.saved_tensors
        lhs, mc, rhs, log_vars = saved[:4]
        num_dims = mc.size(1)
        xc, w = lhs[:, num_dims:], rhs[:, :num_dims]
        g = 0.5 * grad_dist
        # softmax gradients of far-away classes underflow to subnormal floats, which make
        # CPU GEMMs orders of magnitude slower; they carry nothing at float precision
        g.masked_fill_(g.abs() < torch.finfo(g.dtype).tiny, 0.)
        g_logdet = g.sum(0) if ctx.use_log_det else None
        if ctx.with_labels:
            labels, diff, w_true, reg_index, classes, local, inv_n, e1, e2, v = saved[4:]
            g_true = g.gather(1, labels.view(-1, 1))  # (N, 1)
            g.scatter_(1, labels.view(-1, 1), 0.)  # true entries: exact path below
        g_c = g.sum(0).unsqueeze(1)
        # GEMM path: [G w | -2 G(μ∘w)], Gᵀ(x∘x) and Gᵀx (contiguous parameter gradients)
        g_rhs = g @ rhs
        grad_x = torch.addcmul(g_rhs[:, num_dims:], xc, g_rhs[:, :num_dims], value=2.)
        g_t = g.t()
        grad_w = g_t @ lhs[:, :num_dims]
        gt_x = g_t @ xc
        grad_w.addcmul_(mc, gt_x, value=-2.)  # Gᵀ(x∘x) − 2μ∘Gᵀx
        grad_mu = mc * g_c
        grad_w.addcmul_(mc, grad_mu)  # + g_c μ²
        grad_mu.sub_(gt_x).mul_(w).mul_(2.)  # 2w∘(g_c μ − Gᵀx)
        if ctx.with_labels:
            # exact true-class entries: d = ½ Σ w (x − μ)²
            t = g_true * diff  # (N, D)
            grad_x.addcmul_(t, w_true, value=2.)
            grad_mu.index_add_(0, labels, t * w_true, alpha=-2.)
            grad_w.index_add_(0, labels, t * diff)
        grad_lv = grad_w.mul_(w)  # w∘∂w; ∂s = −w∘∂w (+ Σ_i G_ik)
        if g_logdet is not None:
            torch.sub(g_logdet.unsqueeze(1), grad_lv, out=grad_lv)
        else:
            grad_lv.neg_()
        if ctx.with_labels and classes.numel():
            a = grad_reg_mu * ctx.scale
            c = grad_reg_sigma * ctx.scale
            c_e2 = c * e2
            grad_mu.index_add_(0, classes, e1 * (2. * a - 4. * c_e2))
            grad_lv.index_add_(0, classes, c_e2 * v, alpha=2.)
            grad_r = torch.addcmul((a * e1).index_select(0, local),
                                   (2. * c_e2).index_select(0, local),
                                   diff.index_select(0, reg_index))
            grad_x.index_add_(0, reg_index, grad_r * inv_n.index_select(0, local),
                              alpha=-2.)
        if ctx.outside:
            grad_lv.masked_fill_(inward_mask(log_vars, grad_lv, ctx.lo, ctx.hi), 0.)
        return grad_x, grad_mu, grad_lv, None, None, None, None, None, None
