"""Fused autograd kernels of :class:`~mmext.models.layers.GaussianClassifier`.

One :class:`torch.autograd.Function` computes, for features ``x`` (N, D), means ``μ`` (K, D)
and log-variances ``ℓ`` (K, D, used clamped to ``[lo, hi]``; ``s = clamp(ℓ)``, ``w = e^{-s}``,
``v = e^{s}``):

* the decision distances ``d_ik = ½[Σ_j w_kj (x_ij − μ_kj)² + Σ_j s_kj]`` (ICU Eq. 9/19; the
  log-determinant is omitted for L-GM, Eq. 5), for all pairs through two accumulating
  GEMMs ``½ x∘x · wᵀ − x · (μ∘w)ᵀ + ½ Σ_j w μ²`` on features and means centred at the
  (constant) mean of the means, clamped at 0 before the log-determinant is added (rounding
  residue only; transparent to the gradient);
* with labels ``z``: the true-class entries ``d_{i z_i}`` recomputed directly from
  ``x_i − μ_{z_i}`` (no GEMM cancellation, value and gradient), and the two terms of the
  regulariser of Eq. 14 over the classes present among the selected samples,
  ``R_μ = Σ_k ‖μ_k − μ̄_k‖²`` and ``R_σ = Σ_k ‖v_k − σ̄²_k‖²`` with ``μ̄_k`` the mean of the
  class-k features (Eq. 12) and ``σ̄²_k`` their mean squared deviation around the parameter
  ``μ_k`` (Eq. 13).

The backward pass is written out (four GEMMs of a linear layer's size, O(N·D) work for
the labelled terms, five fused element-wise passes over (K, D)) because autograd's chain of
(K, D) temporaries costs as much as the GEMMs when K·D is large. With ``G = ∂L/∂d``,
``g_k = Σ_i G_ik`` (true-class entries excluded when labels are given), ``x`` and ``μ``
centred, ``A = ½ Gᵀ(x∘x)``, ``B = −Gᵀx`` and ``C = B + ½ g∘μ`` (formed in place in the
GEMM outputs, which become the parameter gradients):

* ``∂x = x∘(G w) − G(μ∘w)``; ``∂μ = w∘(g∘μ − Gᵀx) = w∘(C + ½ g∘μ)``;
* ``∂w = ½[Gᵀ(x∘x) − 2μ∘(Gᵀx) + g∘μ²] = A + μ∘C``;
  ``∂s = −w∘∂w (+ ½ Σ_i G_ik from ½ ln|Σ_k|, true entries included)``;
* exact true-class entries, ``t_i = G_{i z_i}(x_i − μ_{z_i})``: ``∂x_i += w_{z_i}∘t_i``,
  ``∂μ_{z_i} −= w_{z_i}∘t_i``, ``∂w_{z_i} += ½ t_i∘(x_i − μ_{z_i})``;
* Eq. 14 with ``e1 = μ_k − μ̄_k``, ``e2 = v_k − σ̄²_k``, ``a = ∂L/∂R_μ``, ``c = ∂L/∂R_σ``:
  ``∂μ_k = 2a e1 − 4c e2∘e1``, ``∂s_k = 2c e2∘v_k``,
  ``∂x_i = −(2/n_k)[a e1 + 2c e2∘(x_i − μ_k)]`` (``n_k`` samples of class k).

The gradient of ``ℓ`` is blocked only where a descent step would move an out-of-range value
further out (:func:`inward_mask`; in the fused backward the float-only
:func:`block_outward`). On CPU it runs only when a log-variance lies out of range (one
``aminmax``, read on the host at no cost); on CUDA it runs at every step, because knowing
whether anything lies out of range would mean reading a device value back (a host sync).
Entries of ``G`` whose magnitude is at most the smallest
normal float (the subnormal tails of a softmax over far-apart Gaussians) are set to 0 before
the GEMMs (one ``hardshrink`` pass): they carry nothing at float precision and make CPU GEMMs
orders of magnitude slower.

The element-wise work around the GEMMs lives in four kernels (:func:`_forward_terms_fn`,
:func:`_shrink_grad_fn`, :func:`_parameter_grads_fn`, :func:`block_outward`) that run eagerly
by default and as ``torch.compile``'d loops with ``compiled=True``
(``GaussianClassifier(compile_kernels=True)``;
:class:`~mmext.utils.optional_compile.OptionalCompile`); the GEMMs and the index operations
of the labelled terms stay eager either way.

No host synchronisation: nothing here reads a device value back (no ``.item()``, ``unique``,
``bincount`` or ``nonzero``), so a CUDA training step never waits for the GPU. The classes
present in Eq. 14 are found with fixed-size operations: the selected samples' labels are
sorted, each run of equal labels gets the next *slot* (``cumsum`` of the run starts), and the
per-class sums are ``index_add`` over ``S = min(N, K + 1)`` slots; unused slots and the slot
of the unselected samples (key ``K``) are masked out of Eq. 14 (their terms are exactly 0).
Host (CPU) tensors take ``torch.unique`` / ``bincount`` instead (reading them costs no sync,
and it is fewer operations), like the label checks (:func:`class_slots`).
"""

from typing import NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from mmext.utils.optional_compile import OptionalCompile

from ..losses.utils import checked_on_host


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


def block_outward(grad: Tensor, log_vars: Tensor, lo: float, hi: float) -> Tensor:
    """``grad`` with the entries of :func:`inward_mask` set to 0, in place, float ops only.

    With ``u = clamp(ℓ, lo, hi) − ℓ`` (> 0 below the range, < 0 above it, 0 inside), an entry
    is blocked where ``u·grad > 0``; ``b = max(sign(u·grad), 0)`` is 1 there and
    ``grad − grad·b`` zeroes it. Five passes over float tensors (boolean masks cost several
    times more on CPU); a NaN stays NaN, and an infinite gradient becomes NaN (``0·inf``)
    instead of staying infinite: non-finite either way.

    Args:
        grad (Tensor): Gradient of the raw log-variances; overwritten.
        log_vars (Tensor): Raw (unclamped) log-variances, same shape.
        lo (float): Lower bound.
        hi (float): Upper bound.

    Returns:
        Tensor: ``grad``.
    """
    blocked = torch.clamp(log_vars, lo, hi).sub_(log_vars).mul_(grad).sign_().clamp_(min=0.0)
    return grad.addcmul_(grad, blocked, value=-1.0)


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
        (x,) = ctx.saved_tensors
        return grad.masked_fill(inward_mask(x, grad, ctx.lo, ctx.hi), 0.0), None, None


def _forward_terms_fn(
    x: Tensor, means: Tensor, log_vars: Tensor, lo: float, hi: float, use_log_det: bool
) -> Tuple[Tensor, ...]:
    """Element-wise forward work around the two GEMMs (one compiled kernel when asked).

    Returns ``w``, ``½ ln|Σ_k|`` (``None`` without the log-determinant), the centred means
    ``μ``, ``μ∘w``, the GEMM bias ``½ Σ_j w μ² (+ ½ ln|Σ_k|)``, the centred features ``x``
    and the two negated GEMM operands ``−½ x∘x`` and ``−x`` (negated so that the backward
    GEMMs give ``−A`` and ``B`` directly).
    """
    w = torch.clamp(log_vars, lo, hi)  # s
    half_log_det = w.sum(1).mul_(0.5) if use_log_det else None
    w.neg_().exp_()  # w = exp(-s)
    ref = means.sum(0).div_(means.size(0))  # mean of the means (sum/K: faster than mean(0))
    mc = means - ref
    mw = mc * w
    half_bias = torch.linalg.vecdot(mc, mw).mul_(0.5)  # ½ Σ_j w μ²
    if half_log_det is not None:  # ½ ln|Σ_k| rides in the GEMM bias
        half_bias.add_(half_log_det)
    xc = x - ref
    neg_half_x2 = torch.mul(xc, xc).mul_(-0.5)
    return w, half_log_det, mc, mw, half_bias, xc, neg_half_x2, torch.neg(xc)


def _shrink_grad_fn(grad_dist: Tensor) -> Tuple[Tensor, Tensor]:
    """``G`` with subnormal entries zeroed (a fresh tensor) and ``½ Σ_i G_ik`` (K, 1)."""
    g = F.hardshrink(grad_dist, torch.finfo(grad_dist.dtype).tiny)
    return g, g.sum(0).mul_(0.5).unsqueeze(1)


def _parameter_grads_fn(
    grad_mu: Tensor,
    neg_grad_w: Tensor,
    mc: Tensor,
    w: Tensor,
    half_g: Tensor,
    half_g_all: Optional[Tensor],
) -> Tuple[Tensor, Tensor]:
    """``∂μ`` and ``∂s`` from the GEMM outputs ``B`` and ``−A`` (both overwritten).

    ``C = B + ½ g∘μ``, ``−∂w = −(A + μ∘C)``, ``∂μ = w∘(C + ½ g∘μ)``,
    ``∂s = −w∘∂w (+ ½ Σ_i G_ik)`` (module notes).
    """
    grad_mu.addcmul_(mc, half_g)  # C
    neg_grad_w.addcmul_(mc, grad_mu, value=-1.0)  # −∂w
    grad_mu.addcmul_(mc, half_g).mul_(w)  # ∂μ
    if half_g_all is None:  # ∂s = −w∘∂w (+ ½ Σ_i G_ik), in place (no (K, D) allocation)
        return grad_mu, neg_grad_w.mul_(w)
    return grad_mu, torch.addcmul(half_g_all, neg_grad_w, w, out=neg_grad_w)


_forward_terms = OptionalCompile(_forward_terms_fn)
_shrink_grad = OptionalCompile(_shrink_grad_fn)
_parameter_grads = OptionalCompile(_parameter_grads_fn)
_block_outward = OptionalCompile(block_outward)


def _out_of_range(log_vars: Tensor, lo: float, hi: float) -> bool:
    """Whether a value lies outside ``[lo, hi]`` (one ``aminmax``; reads the tensor: host
    tensors only)."""
    lv_min, lv_max = torch.aminmax(log_vars)
    return bool(lv_min < lo) or bool(lv_max > hi)


class ClassSlots(NamedTuple):
    """Where the samples of Eq. 14 are summed: one slot per class present (see
    :func:`class_slots`).

    Attributes:
        local (Tensor): The slot of each sample (N,).
        classes (Tensor): The class of each slot (S,) (a valid row for slots without one).
        inv_n (Tensor): ``1 / n_k`` of each slot (S, 1), 0 for slots without a class.
        on (Tensor | None): 1.0 for the slots of a class present, else 0.0 (S, 1); None
            when every slot holds one.
        num_present (int | Tensor): The number of classes present (a 0-dim tensor on the
            device path).
    """

    local: Tensor
    classes: Tensor
    inv_n: Tensor
    on: Optional[Tensor]
    num_present: Union[int, Tensor]


def class_slots(
    labels: Tensor, num_classes: int, reg_mask: Optional[Tensor], dtype: torch.dtype
) -> ClassSlots:
    """The slots of the classes present among the selected samples of Eq. 14.

    The keys are the labels, ``K`` (a slot excluded from Eq. 14) for the samples outside
    ``reg_mask``. Two ways, with the same result up to empty slots:

    * host tensors (reading values costs no sync): ``torch.unique`` and ``bincount``, one
      slot per distinct key;
    * device tensors (CUDA), without host synchronisation: the keys are sorted and the
      ``j``-th run of equal keys gets slot ``j`` (``cumsum`` of the run starts); there are
      ``S = min(N, K + 1)`` slots, the ones past the last run stay empty (``on = 0``).

    Args:
        labels (Tensor): Class per sample (N,), in ``[0, K)``.
        num_classes (int): ``K``.
        reg_mask (Tensor, optional): Boolean (N,): the samples of Eq. 14 (None: all).
        dtype (torch.dtype): Dtype of ``inv_n`` and ``on``.

    Returns:
        ClassSlots: The slots.
    """
    key = labels if reg_mask is None else torch.where(reg_mask, labels, num_classes)
    if checked_on_host(labels):
        classes, local = torch.unique(key, return_inverse=True)
        inv_n = torch.bincount(local, minlength=classes.numel()).to(dtype).reciprocal_()
        inv_n = inv_n.unsqueeze(1)
        if reg_mask is None or bool(reg_mask.all()):
            return ClassSlots(local, classes, inv_n, None, classes.numel())
        present = classes < num_classes  # the last slot may hold the unselected samples
        on = present.to(dtype).unsqueeze(1)
        num_present = int(present.sum())
        return ClassSlots(local, classes.clamp_(max=num_classes - 1), inv_n * on, on, num_present)
    num_slots = min(labels.numel(), num_classes + 1)
    sorted_key, order = torch.sort(key)
    starts = torch.ones_like(sorted_key)
    starts[1:] = sorted_key[1:] != sorted_key[:-1]
    slot_sorted = torch.cumsum(starts, 0).sub_(1)
    local = torch.empty_like(labels).scatter_(0, order, slot_sorted)
    classes = labels.new_full((num_slots,), num_classes).scatter_(0, slot_sorted, sorted_key)
    on = (classes < num_classes).to(dtype).unsqueeze(1)
    counts = torch.zeros(num_slots, dtype=dtype, device=labels.device)
    counts.index_add_(0, local, torch.ones(local.numel(), dtype=dtype, device=labels.device))
    inv_n = counts.clamp_(min=1.0).reciprocal_().unsqueeze(1).mul_(on)
    return ClassSlots(local, classes.clamp_(max=num_classes - 1), inv_n, on, on.sum())


class GaussianDistances(torch.autograd.Function):
    """Distances (+ exact true-class entries and Eq. 14 terms when labels are given).

    ``reg_mask`` selects the samples of Eq. 14 (``None`` with labels: all of them).
    """

    @staticmethod
    def forward(
        ctx,
        x: Tensor,
        means: Tensor,
        log_vars: Tensor,
        labels: Optional[Tensor],
        reg_mask: Optional[Tensor],
        lo: float,
        hi: float,
        use_log_det: bool,
        reg_mean: bool,
        reg_to_features: bool = True,
        compiled: bool = False,
    ) -> Tuple[Tensor, Tensor, Tensor]:  # noqa: D102
        num_dims = x.size(1)
        ctx.compiled = bool(compiled)
        # whether backward must block outward gradients: on the host only when a value lies
        # out of range (reading CPU values costs no sync); on CUDA always (no read-back).
        # Read before the (K, D) passes, which then find their operands in the cache.
        ctx.outside = not checked_on_host(log_vars) or _out_of_range(log_vars, lo, hi)
        w, half_log_det, mc, mw, half_bias, xc, neg_half_x2, neg_x = _forward_terms(
            x, means, log_vars, lo, hi, use_log_det, compiled=ctx.compiled
        )
        dist = torch.addmm(half_bias, neg_half_x2, w.t(), alpha=-1.0)
        dist.addmm_(neg_x, mw.t())
        # the Mahalanobis part is >= 0: clamp at ½ ln|Σ_k| (one pass for clamp + log-det)
        dist.clamp_(min=half_log_det if half_log_det is not None else 0.0)
        ctx.use_log_det, ctx.lo, ctx.hi = use_log_det, lo, hi
        ctx.reg_to_features = reg_to_features
        ctx.with_labels = labels is not None
        reg_mu = reg_sigma = x.new_zeros(())
        if labels is None:
            ctx.save_for_backward(neg_half_x2, neg_x, mc, w, mw, log_vars)
            return dist, reg_mu, reg_sigma
        # exact true-class entries: ½[Σ_j w_zj (x_j − μ_zj)² (+ ln|Σ_z|)]
        diff = xc - mc.index_select(0, labels)
        diff_w = diff * w.index_select(0, labels)
        exact = torch.linalg.vecdot(diff_w, diff).mul_(0.5)
        if half_log_det is not None:
            exact += half_log_det.index_select(0, labels)
        dist.scatter_(1, labels.view(-1, 1), exact.view(-1, 1))
        # Eq. 14 over the classes present among the samples of reg_mask (all if None), one
        # slot per class (class_slots); the unselected samples enter with zeros
        local, classes, inv_n, on, num_present = class_slots(
            labels, means.size(0), reg_mask, x.dtype
        )
        if reg_mask is None:
            r_xc, r_diff = xc, diff
        else:
            keep = reg_mask.view(-1, 1)
            r_xc, r_diff = torch.where(keep, xc, 0.0), torch.where(keep, diff, 0.0)
        num_slots = classes.numel()
        mu_bar = r_xc.new_zeros(num_slots, num_dims).index_add_(0, local, r_xc)
        e1 = torch.addcmul(mc.index_select(0, classes), mu_bar, inv_n, value=-1.0)
        v = w.index_select(0, classes).reciprocal_()  # σ² = 1 / w (no second exp)
        var_bar = r_xc.new_zeros(num_slots, num_dims).index_add_(0, local, r_diff * r_diff)
        e2 = torch.addcmul(v, var_bar, inv_n, value=-1.0)
        if on is not None:  # slots without a class present: e1 = e2 = 0
            e1.mul_(on)
            e2.mul_(on)
        if not reg_mean:
            scale = 1.0
        elif isinstance(num_present, Tensor):  # (classes present) × D; 1 without any class
            scale = num_present.clamp(min=1.0).mul_(num_dims).reciprocal_()
        else:
            scale = 1.0 / (num_present * num_dims) if num_present else 1.0
        reg_mu = torch.dot(e1.view(-1), e1.view(-1)) * scale
        reg_sigma = torch.dot(e2.view(-1), e2.view(-1)) * scale
        ctx.scale = scale
        ctx.save_for_backward(
            neg_half_x2,
            neg_x,
            mc,
            w,
            mw,
            log_vars,
            labels,
            diff,
            diff_w,
            r_diff,
            classes,
            local,
            inv_n,
            e1,
            e2,
            v,
        )
        return dist, reg_mu, reg_sigma

    @staticmethod
    def backward(ctx, grad_dist: Tensor, grad_reg_mu: Tensor, grad_reg_sigma: Tensor):  # noqa: D102,E501
        saved = ctx.saved_tensors
        neg_half_x2, neg_x, mc, w, mw, log_vars = saved[:6]
        # softmax gradients of far-away classes underflow to subnormal floats, which make
        # CPU GEMMs orders of magnitude slower; they carry nothing at float precision
        g, half_g_all = _shrink_grad(grad_dist, compiled=ctx.compiled)
        half_g = half_g_all
        if ctx.with_labels:
            (labels, diff, diff_w, r_diff, classes, local, inv_n, e1, e2, v) = saved[6:]
            g_true = g.gather(1, labels.view(-1, 1))  # (N, 1)
            g.scatter_(1, labels.view(-1, 1), 0.0)  # true entries: exact path below
            # ½ g_k without the true entries: ½ Σ_i G_ik − ½ Σ_{i: z_i = k} G_{i z_i}
            half_g = half_g_all.index_add(0, labels, g_true, alpha=-0.5)
        if not ctx.use_log_det:
            half_g_all = None
        # ∂x = x∘(G w) − G(μ∘w) = −[(−x)∘(G w) + G(μ∘w)]
        grad_x = torch.addcmul(g @ mw, neg_x, g @ w).neg_()
        # the (K, D) gradients are formed in place in the two GEMM outputs
        g_t = g.t()
        neg_grad_w = g_t @ neg_half_x2  # −A = −½ Gᵀ(x∘x)
        grad_mu = g_t @ neg_x  # B = −Gᵀx
        if ctx.with_labels:
            # exact true-class entries (d = ½ Σ w (x − μ)²): their ∂w joins −A before the
            # (K, D) pass, their ∂μ (already times w) is added after it
            neg_grad_w.index_add_(0, labels, (g_true * diff).mul_(diff), alpha=-0.5)
        grad_mu, grad_lv = _parameter_grads(
            grad_mu, neg_grad_w, mc, w, half_g, half_g_all, compiled=ctx.compiled
        )
        if ctx.with_labels:
            t_w = g_true * diff_w
            grad_x.add_(t_w)
            grad_mu.index_add_(0, labels, t_w, alpha=-1.0)
        if ctx.with_labels and classes.numel():
            a = grad_reg_mu * ctx.scale
            c = grad_reg_sigma * ctx.scale
            # ∂μ_k += e1∘(2a − 4c e2); ∂s_k += 2c e2∘v (slots off the classes: e1 = e2 = 0)
            grad_mu.index_add_(0, classes, (e2 * (-4.0 * c)).add_(2.0 * a).mul_(e1))
            grad_lv.index_add_(0, classes, torch.mul(e2, v).mul_(2.0 * c))
            if ctx.reg_to_features:
                # ∂x_i += coef_1[k] + coef_2[k]∘(x_i − μ_k) = −(2/n_k)[a e1 + 2c e2∘(x_i − μ_k)]
                # (0 for the samples outside reg_mask: their slot has e1 = e2 = 0, r_diff = 0)
                coef_1 = e1 * (inv_n * (-2.0 * a))
                coef_2 = e2 * (inv_n * (-4.0 * c))
                grad_x.addcmul_(coef_2.index_select(0, local), r_diff)
                grad_x.add_(coef_1.index_select(0, local))
        # out-of-range log-variances: block the gradients that point further out
        if ctx.outside:
            grad_lv = _block_outward(grad_lv, log_vars, ctx.lo, ctx.hi, compiled=ctx.compiled)
        return grad_x, grad_mu, grad_lv, None, None, None, None, None, None, None, None
