"""Intra-class uncertainty (ICU) loss of Zhu & Yu, section 3 (Eq. 13, 14, 17, 18, 19).

Classification term (Eq. 17) from decision distances ``d`` (N, K) of a
:class:`~mmext.models.layers.GaussianClassifier`:

.. math::

    \\mathcal L_{ICU} = -\\frac1N\\sum_i \\log
        \\frac{e^{-(1+\\alpha)\\,d_{z_i}^{\\gamma}}}
             {\\sum_{k\\neq z_i} e^{-d_k} + e^{-(1+\\alpha)\\,d_{z_i}^{\\gamma}}},
    \\qquad
    d_{z}^{\\gamma} = \\tfrac12\\big[(x-\\mu_z)^T\\Sigma_z^{-1}(x-\\mu_z)
        + \\ln|(1+\\gamma)\\Sigma_z|\\big] \\;\\text{(Eq. 18)}.

**Reading of Eq. 18.** The paper prints ``ln(1 + γ)|Σ_z|``; we read it as
:math:`\\ln|(1+\\gamma)\\Sigma_z|`, i.e. every variance of the true class is scaled by
:math:`1+\\gamma` inside the log-determinant, which adds :math:`D\\ln(1+\\gamma)` (not a single
:math:`\\ln(1+\\gamma)`) to the bracket. Derivation: take Eq. 21's setting, α = 0 and a sample
with equal Mahalanobis distance M to classes z and k, both with per-dimension variances
:math:`\\sigma_z^2 I` and :math:`\\sigma_k^2 I`. Then

* :math:`e^{-d_z^{\\gamma}} > e^{-d_k} \\iff \\ln|(1+\\gamma)\\Sigma_z| < \\ln|\\Sigma_k|
  \\iff D\\ln((1+\\gamma)\\sigma_z^2) < D\\ln\\sigma_k^2 \\iff
  \\sigma_k^2-\\sigma_z^2 > \\gamma\\sigma_z^2`, which is Eq. 21 for every D (for a general
  diagonal Σ it holds with :math:`\\sigma^2` the geometric mean variance :math:`|\\Sigma|^{1/D}`);
* with a single :math:`\\ln(1+\\gamma)` the condition would be
  :math:`\\sigma_k^{2D} > (1+\\gamma)\\sigma_z^{2D}`, i.e. Eq. 21 with γ replaced by
  :math:`(1+\\gamma)^{1/D}-1`: it matches Eq. 21 only for D = 1.

The ½ of Eq. 18 multiplies the whole bracket, the modified log-determinant included (as in
Eq. 9/19), and the inter-class margin multiplies the whole modified distance (Eq. 17). The
margins therefore change only the true-class logit:
:math:`-(1+\\alpha)\\,(d_z + \\tfrac D2\\ln(1+\\gamma))`. With the L-GM distance (no
:math:`\\ln|\\Sigma|`, ``num_dims=0``) γ has nothing to act on. Note that with the log-determinant
:math:`d_z` can be negative (tiny variances); the multiplicative margin then favours the true
class instead of penalising it, exactly as Eq. 17 is written. At inference α = γ = 0.

**Three readings of Eq. 18** (``gamma_reading``; the bracket is always halved and then
multiplied by :math:`1+\\alpha`):

* ``'covariance'`` (default, the reading above): :math:`\\ln|(1+\\gamma)\\Sigma_z|
  = \\ln|\\Sigma_z| + D\\ln(1+\\gamma)`; the only one that gives Eq. 21 for every D;
* ``'log_det'`` (the ICU authors' released code): :math:`(1+\\gamma)\\ln|\\Sigma_z|`; the
  margin scales with the log-determinant itself (it vanishes for unit variances and changes
  sign with :math:`\\ln|\\Sigma_z|`), so the loss needs :math:`\\ln|\\Sigma_k|` (``log_dets``);
* ``'literal'`` (the print taken at face value): :math:`\\ln(1+\\gamma) + \\ln|\\Sigma_z|`, a
  single :math:`\\ln(1+\\gamma)` whatever D (Eq. 21 with γ replaced by
  :math:`(1+\\gamma)^{1/D}-1`).

:class:`~mmext.models.losses.LGMLoss` (``lgm_loss.py``) is the loss of L-GM (Wan et al.,
CVPR 2018) on the same distances, the baseline the ICU paper compares to.

The regulariser of Eq. 14 acts on the Gaussian parameters and the features; it is computed
(fused with the distances) by :meth:`GaussianClassifier.forward_train
<mmext.models.layers.GaussianClassifier.forward_train>` and reported by the heads under its
own loss key.
"""

import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmext.registry import MODELS
from mmext.utils.optional_compile import OptionalCompile

from .empty_batch import empty_batch_loss
from .utils import (
    LossNameMixin,
    check_class_labels,
    check_finite_number,
    check_reduction,
    resolve_reduction,
    weight_reduce_loss,
)


def check_labels(labels: Tensor, num_classes: int) -> None:
    """Raise a clear error unless ``labels`` are class indices in ``[0, num_classes)``.

    The shape and dtype are checked on the host; the range by
    :func:`~mmext.models.losses.utils.check_class_labels` (a ``ValueError`` on CPU, a
    device-side assert without host synchronisation on CUDA).

    Args:
        labels (Tensor): Integer labels, shape (N,).
        num_classes (int): Number of Gaussians K.
    """
    if labels.dim() != 1 or labels.dtype.is_floating_point:
        raise ValueError(
            'ICU loss needs integer class indices of shape (N,), got '
            f'{labels.dtype} {tuple(labels.shape)}'
        )
    check_class_labels(labels, num_classes, name='ICU loss labels')


GAMMA_READINGS = ('covariance', 'log_det', 'literal')


def gamma_shift(gamma: float, num_dims: int, reading: str = 'covariance') -> float:
    """Constant added to the true-class distance by the intra-class margin (Eq. 18).

    Args:
        gamma (float): Intra-class margin γ.
        num_dims (int): Log-variance terms in :math:`\\ln|\\Sigma|` (D; 0 for the L-GM
            distance).
        reading (str): ``'covariance'`` (:math:`\\frac D2\\ln(1+\\gamma)`) or ``'literal'``
            (:math:`\\frac12\\ln(1+\\gamma)`, 0 without log-determinant). ``'log_det'``
            shifts by :math:`\\frac\\gamma2\\ln|\\Sigma_z|`, per sample: no constant (0 here).

    Returns:
        float: The shift.
    """
    if reading == 'covariance':
        return 0.5 * num_dims * math.log1p(gamma)
    if reading == 'literal':
        return 0.5 * math.log1p(gamma) if num_dims else 0.0
    return 0.0


def icu_margin_logits(
    distances: Tensor,
    labels: Tensor,
    alpha: float,
    gamma: float,
    num_dims: int,
    reading: str = 'covariance',
) -> Tensor:
    """Training logits of Eq. 17 with the margins of Eq. 17/18.

    Args:
        distances (Tensor): Decision distances :math:`d` (N, K) of Eq. 9/19 (for the
            ``'log_det'`` reading with :math:`\\frac\\gamma2\\ln|\\Sigma_z|` already added to the
            true-class entries).
        labels (Tensor): Ground-truth classes :math:`z_i`, shape (N,).
        alpha (float): Inter-class margin α (Eq. 17).
        gamma (float): Intra-class margin γ (Eq. 18).
        num_dims (int): Number of log-variance terms in :math:`\\ln|\\Sigma|`: the feature
            dimension D for the ICU distance, 0 for the L-GM distance.
        reading (str): Reading of Eq. 18 (module notes). Defaults to ``'covariance'``.

    Returns:
        Tensor: logits (N, K): :math:`-d_k` off the true class,
        :math:`-(1+\\alpha)(d_z + s)` on it, ``s`` = :func:`gamma_shift`.
    """
    return _margin_logits(distances, labels, alpha, gamma_shift(gamma, num_dims, reading))


def _margin_logits(distances: Tensor, labels: Tensor, alpha: float, shift: float) -> Tensor:
    """``-d`` with the true-class entry replaced by ``-(1+α)(d_z + shift)``."""
    labels = labels.long().view(-1, 1)
    d_true = distances.gather(1, labels)
    d_true = (1.0 + alpha) * (d_true + shift)
    return distances.neg().scatter_(1, labels, d_true.neg_())


class ICUCrossEntropyFunction(torch.autograd.Function):
    """Per-sample −log softmax of the margin logits of Eq. 17, from distances (N, K).

    Written out (instead of ``F.cross_entropy`` on :func:`icu_margin_logits`) for speed:
    Gaussian distances spread over hundreds of nats, so the softmax terms of far classes
    fall into the subnormal float range, where CPU arithmetic (here and in the backward
    GEMMs of the classifier, which multiply these terms) is orders of magnitude slower.
    Softmax terms below ``exp(0.7 · ln(tiny))`` of the largest one (~1e-27 in float32,
    ~1e-215 in float64; in fact up to 0.4 % above it) are set to exactly 0; this is far
    below the float resolution of the loss and of its gradient (the largest term is 1, so
    the sum is >= 1).
    Gradient w.r.t. d: ``−p_k`` off the true class, ``−(1+α)(p_z − 1)`` on it.
    """

    @staticmethod
    def forward(
        ctx, distances: Tensor, labels: Tensor, alpha: float, shift: float, compiled: bool = False
    ) -> Tensor:  # noqa: D102
        labels = labels.view(-1, 1)
        ctx.alpha, ctx.compiled = alpha, bool(compiled)
        loss, prob = _margin_softmax(distances, labels, alpha, shift, compiled=ctx.compiled)
        ctx.save_for_backward(prob, labels)
        return loss

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: D102
        prob, labels = ctx.saved_tensors
        grad_d = _margin_softmax_grad(prob, labels, grad, ctx.alpha, compiled=ctx.compiled)
        return grad_d, None, None, None, None


def _margin_softmax_fn(
    distances: Tensor, labels: Tensor, alpha: float, shift: float
) -> Tuple[Tensor, Tensor]:
    """Per-sample loss and softmax ``p`` of the margin logits (small terms exactly 0).

    ``labels`` has shape (N, 1). See :class:`ICUCrossEntropyFunction`.
    """
    logits = _margin_logits(distances, labels, alpha, shift)
    logits.sub_(logits.amax(1, keepdim=True))
    true_logit = logits.gather(1, labels).view(-1)
    floor = 0.7 * math.log(torch.finfo(logits.dtype).tiny)
    # clamp at the floor (exp stays a normal float; exp(-inf) takes a slow path too),
    # then zero the clamped terms (threshold 2⁻⁸ above exp(floor), clear of rounding)
    prob = logits.clamp_min_(floor).exp_()
    F.threshold_(prob, math.exp(floor) * (1.0 + 2.0**-8), 0.0)
    total = prob.sum(1, keepdim=True)
    return total.log().view(-1) - true_logit, prob.div_(total)


def _margin_softmax_grad_fn(prob: Tensor, labels: Tensor, grad: Tensor, alpha: float) -> Tensor:
    """``∂L/∂d``: ``−p_k g`` off the true class, ``−(1+α)(p_z − 1) g`` on it."""
    grad_d = prob * -grad.view(-1, 1)
    true = grad_d.gather(1, labels)
    return grad_d.scatter_(1, labels, (1.0 + alpha) * (true + grad.view(-1, 1)))


_margin_softmax = OptionalCompile(_margin_softmax_fn)
_margin_softmax_grad = OptionalCompile(_margin_softmax_grad_fn)


def add_to_true_class(distances: Tensor, labels: Tensor, values: Tensor) -> Tensor:
    """``distances`` with ``values`` (N,) added to the true-class entries (out of place)."""
    return distances.scatter_add(1, labels.view(-1, 1), values.view(-1, 1))


@MODELS.register_module()
class ICULoss(LossNameMixin, nn.Module):
    """Classification term of the ICU loss (Eq. 17 with Eq. 18/19) on decision distances.

    The regulariser of Eq. 14 needs features and class parameters; the heads add it from
    :meth:`GaussianClassifier.forward_train` and report it under its own key.

    Empty batch (``N = 0``): like every mmext loss (:mod:`mmext.models.losses.empty_batch`),
    ``'mean'`` and ``'sum'`` give a zero that keeps the graph (``distances.sum() * 0``, not
    the NaN of an empty mean), ``'none'`` an empty ``(0,)`` tensor.

    Args:
        alpha (float): Inter-class margin α >= 0 (Eq. 17), finite. Paper: 1e-4.
        gamma (float): Intra-class margin γ >= 0 (Eq. 18), finite. Paper: 1e-3.
        gamma_reading (str): Reading of Eq. 18: ``'covariance'`` (default,
            :math:`\\ln|(1+\\gamma)\\Sigma_z|`), ``'log_det'`` (the authors' code,
            :math:`(1+\\gamma)\\ln|\\Sigma_z|`; ``forward`` then needs ``log_dets``) or
            ``'literal'`` (:math:`\\ln(1+\\gamma)+\\ln|\\Sigma_z|`); see the module notes.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss, finite. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to ``'loss_icu_cls'``.
        compile_kernels (bool): Run the softmax passes over the (N, K) distances (forward
            and backward) as ``torch.compile``'d kernels
            (:mod:`mmext.utils.optional_compile`; eager if compilation fails). Results agree
            with the eager kernels up to float rounding. Defaults to False.
    """

    def __init__(
        self,
        alpha: float = 1e-4,
        gamma: float = 1e-3,
        gamma_reading: str = 'covariance',
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        loss_name: str = 'loss_icu_cls',
        compile_kernels: bool = False,
    ) -> None:
        super().__init__()
        alpha = check_finite_number('alpha', alpha, low=0.0)
        gamma = check_finite_number('gamma', gamma, low=0.0)
        loss_weight = check_finite_number('loss_weight', loss_weight)
        if gamma_reading not in GAMMA_READINGS:
            raise ValueError(
                f'gamma_reading must be one of {GAMMA_READINGS}, got {gamma_reading!r}'
            )
        self.alpha = alpha
        self.gamma = gamma
        self.gamma_reading = gamma_reading
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight
        self._set_loss_name(loss_name)
        self.compile_kernels = bool(compile_kernels)

    def forward(
        self,
        distances: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        num_dims: Optional[int] = None,
        log_dets: Optional[Tensor] = None,
        **kwargs,
    ) -> Tensor:
        """Compute the loss.

        Args:
            distances (Tensor): Decision distances (N, K) without margins
                (:meth:`GaussianClassifier.distances`).
            label (Tensor): Ground-truth classes (N,).
            weight (Tensor, optional): Per-sample weights (N,).
            avg_factor (float, optional): Divisor of the weighted sum for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.
            num_dims (int, optional): Log-variance terms in :math:`\\ln|\\Sigma|` (D for the
                ICU distance, 0 for L-GM). Required when ``gamma > 0``.
            log_dets (Tensor, optional): :math:`\\ln|\\Sigma_k|` (K,) with gradient
                (:meth:`GaussianClassifier.log_dets`). Required by the ``'log_det'`` reading
                when ``gamma > 0``; ignored otherwise.
            **kwargs: Ignored (host heads may pass extra arguments).

        Returns:
            Tensor: The weighted loss.
        """
        reduction = resolve_reduction(self.reduction, reduction_override)
        if self.gamma > 0 and num_dims is None:
            raise ValueError(
                'ICULoss with gamma > 0 needs num_dims, the number of '
                'log-variance terms in ln|Sigma| (the feature dimension D; '
                '0 for the L-GM distance)'
            )
        if distances.dim() != 2:
            raise ValueError(
                f'ICULoss expects distances of shape (N, K), got {tuple(distances.shape)}'
            )
        check_labels(label, distances.size(1))
        distances = distances.to(torch.promote_types(distances.dtype, torch.float32))
        if distances.shape[0] == 0 and reduction != 'none':
            return self.loss_weight * empty_batch_loss(distances)
        label = label.long()
        shift = gamma_shift(self.gamma, num_dims or 0, self.gamma_reading)
        if self.needs_log_dets and num_dims:
            if log_dets is None:
                raise ValueError(
                    "ICULoss(gamma_reading='log_det') needs log_dets, "
                    'ln|Sigma_k| of every class (K,)'
                )
            # (1 + γ) ln|Σ_z| inside the halved bracket: + γ/2 ln|Σ_z| on the true entry
            half_gamma = 0.5 * self.gamma
            distances = add_to_true_class(
                distances, label, log_dets.to(distances.dtype)[label] * half_gamma
            )
        loss = ICUCrossEntropyFunction.apply(
            distances, label, self.alpha, shift, self.compile_kernels
        )
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)

    @property
    def needs_log_dets(self) -> bool:
        """bool: whether ``forward`` needs ``log_dets`` (the ``'log_det'`` reading, γ > 0)."""
        return self.gamma_reading == 'log_det' and self.gamma > 0

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f'alpha={self.alpha}, gamma={self.gamma}, gamma_reading='
            f'{self.gamma_reading}, reduction={self.reduction}, '
            f'loss_weight={self.loss_weight}, '
            f'compile_kernels={self.compile_kernels}'
        )
