"""L-GM loss of Wan et al., CVPR 2018 ("Rethinking Feature Distribution for Loss Functions
in Image Classification"), on the distances of :class:`~mmext.models.layers.GaussianClassifier`:
the Gaussian baseline of the ICU paper (its Table 1/2 "L-GM" rows)."""

from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmext.registry import MODELS

from .empty_batch import empty_batch_loss
from .icu_loss import ICUCrossEntropyFunction, add_to_true_class, check_labels
from .utils import (
    LossNameMixin,
    check_finite_number,
    check_reduction,
    resolve_reduction,
    weight_reduce_loss,
)


@MODELS.register_module()
class LGMLoss(LossNameMixin, nn.Module):
    """L-GM loss (Wan et al., CVPR 2018): margin cross-entropy + likelihood term.

    With :math:`d_k = \\frac12(x-\\mu_k)^T\\Lambda_k^{-1}(x-\\mu_k)` and equal priors, L-GM's
    margin classification term :math:`\\mathcal L_{cls,m}` is the cross-entropy of the logits
    :math:`-d_k(1+\\alpha[k=z]) - \\frac12\\ln|\\Lambda_k|` (the margin multiplies the
    Mahalanobis part of the true class only), and its likelihood regularisation is
    :math:`d_z + \\frac12\\ln|\\Lambda_z|`:
    :math:`\\mathcal L_{GM} = \\mathcal L_{cls,m} + \\lambda\\,\\mathcal L_{lkd}`.

    It takes the ICU decision distances :math:`D_k = d_k + \\frac12\\ln|\\Lambda_k|` (Eq. 9 of
    the ICU paper, ``use_log_det=True``) and :math:`\\ln|\\Lambda_k|`: the true-class logit is
    :math:`-(1+\\alpha)D_z + \\frac\\alpha2\\ln|\\Lambda_z|` and :math:`\\mathcal L_{lkd} = D_z`. At
    inference the prediction is :math:`\\arg\\min_k D_k` (the posterior, as in the ICU head).
    The authors' released TensorFlow code fixes :math:`\\Lambda = I` and uses α = 0.1,
    λ = 0.01 (CIFAR-100); those are the defaults here.

    Args:
        alpha (float): Classification margin α >= 0, finite. Defaults to 0.1.
        lambda_lkd (float): Weight λ >= 0 of the likelihood term, finite. Defaults to 0.01.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss, finite. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to ``'loss_lgm'``.
        compile_kernels (bool): Run the softmax passes over the (N, K) distances (forward
            and backward) as ``torch.compile``'d kernels
            (:mod:`mmext.utils.optional_compile`; eager if compilation fails). Results agree
            with the eager kernels up to float rounding. Defaults to False.
    """

    def __init__(
        self,
        alpha: float = 0.1,
        lambda_lkd: float = 0.01,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        loss_name: str = 'loss_lgm',
        compile_kernels: bool = False,
    ) -> None:
        super().__init__()
        alpha = check_finite_number('alpha', alpha, low=0.0)
        lambda_lkd = check_finite_number('lambda_lkd', lambda_lkd, low=0.0)
        loss_weight = check_finite_number('loss_weight', loss_weight)
        self.alpha = alpha
        self.lambda_lkd = lambda_lkd
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight
        self._set_loss_name(loss_name)
        self.compile_kernels = bool(compile_kernels)

    @property
    def needs_log_dets(self) -> bool:
        """bool: always True (the margin leaves :math:`\\frac12\\ln|\\Lambda_z|` out)."""
        return True

    def forward(
        self,
        distances: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        log_dets: Optional[Tensor] = None,
        **kwargs,
    ) -> Tensor:
        """Compute the loss.

        Args:
            distances (Tensor): ICU decision distances :math:`D` (N, K), log-determinant
                included (:meth:`GaussianClassifier.distances` with ``use_log_det=True``).
            label (Tensor): Ground-truth classes (N,).
            weight (Tensor, optional): Per-sample weights (N,).
            avg_factor (float, optional): Divisor of the weighted sum for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.
            log_dets (Tensor): :math:`\\ln|\\Lambda_k|` (K,), with gradient.
            **kwargs: Ignored (``num_dims`` and other host-head arguments).

        Returns:
            Tensor: The weighted loss.
        """
        reduction = resolve_reduction(self.reduction, reduction_override)
        if log_dets is None:
            raise ValueError('LGMLoss needs log_dets, ln|Lambda_k| of every class (K,)')
        if distances.dim() != 2:
            raise ValueError(
                f'LGMLoss expects distances of shape (N, K), got {tuple(distances.shape)}'
            )
        check_labels(label, distances.size(1))
        distances = distances.to(torch.promote_types(distances.dtype, torch.float32))
        if distances.shape[0] == 0 and reduction != 'none':
            return self.loss_weight * (empty_batch_loss(distances) + log_dets.sum() * 0)
        label = label.long()
        half_log_det = 0.5 * log_dets.to(distances.dtype)[label]
        # true logit −(1+α)(D_z − α/(1+α)·½ln|Λ_z|) = −(1+α)D_z + α·½ln|Λ_z|
        shifted = add_to_true_class(
            distances, label, half_log_det * (-self.alpha / (1.0 + self.alpha))
        )
        loss = ICUCrossEntropyFunction.apply(shifted, label, self.alpha, 0.0, self.compile_kernels)
        if self.lambda_lkd:
            loss = loss + self.lambda_lkd * distances.gather(1, label.view(-1, 1)).view(-1)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f'alpha={self.alpha}, lambda_lkd={self.lambda_lkd}, '
            f'reduction={self.reduction}, loss_weight={self.loss_weight}, '
            f'compile_kernels={self.compile_kernels}'
        )
