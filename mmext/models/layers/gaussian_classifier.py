"""Gaussian classifier: one diagonal Gaussian per class (ICU loss, Zhu & Yu, section 3).

Each class ``k`` owns a learnable mean :math:`\\mu_k` and a diagonal covariance
:math:`\\Sigma_k = \\mathrm{diag}(\\sigma_k^2)`, stored as log-variances so that it stays
positive. The decision distance of the ICU paper (Eq. 9 / Eq. 19) is

.. math::

    d_k(x) = \\tfrac12\\big[(x-\\mu_k)^T\\Sigma_k^{-1}(x-\\mu_k) + \\ln|\\Sigma_k|\\big],

and the prediction is :math:`\\arg\\min_k d_k` (the Bayes decision of Eq. 6 with equal priors;
the logits are :math:`-d_k`, Eq. 8). Without the :math:`\\ln|\\Sigma_k|` term this is the
decision distance of L-GM (Wan et al., CVPR 2018; Eq. 5 of the ICU paper).

The Gaussians are fitted by the moment regulariser of Eq. 14 (diagonal form),

.. math::

    \\lambda\\mathcal L_{reg} = \\sum_k \\lambda_\\mu\\,\\|\\mu_k-\\bar\\mu_{N_k}\\|^2
        + \\lambda_\\sigma\\,\\|\\sigma_k^2-\\bar\\sigma_{N_k}^2\\|^2,

over the classes present in the batch, :math:`\\bar\\mu_{N_k}` the batch mean of the class-k
features (Eq. 12) and :math:`\\bar\\sigma^2_{N_k}` their per-dimension mean squared deviation
around the *parameter* :math:`\\mu_k` (Eq. 13). :meth:`GaussianClassifier.forward_train` returns
its two sums (without the λ): ``reduction='sum'`` is Eq. 14's scale (sum over the classes
present and, :math:`|\\cdot|^2` being the squared Euclidean norm, over the D dimensions);
``'mean'`` divides by (number of classes present × D). Gradients reach the parameters and,
by default, the features (through :math:`\\bar\\mu_{N_k}`, :math:`\\bar\\sigma^2_{N_k}`);
``reg_to_features=False`` treats the batch moments as fixed targets, so Eq. 14 fits only
:math:`\\mu_k, \\sigma_k` -- the paper gives Eq. 14's gradients (Eqs. 15-16) for the
parameters only and calls the regulariser a way to learn them, so both readings are
possible; the default (features too) is the one documented since the first release.
Differentiating Eq. 14 with Eq. 13 gives
the per-dimension gradient
:math:`[2\\lambda_\\mu - 4\\lambda_\\sigma(\\sigma_k^2-\\bar\\sigma^2)](\\mu_k-\\bar\\mu)`
for :math:`\\mu_k`; Eq. 15 of the paper prints a + sign in front of the second term (Eq. 16,
:math:`4\\lambda_\\sigma(\\sigma_k^2-\\bar\\sigma^2)\\sigma_k`, is matched exactly).
"""

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmext.registry import MODELS

from ..losses.utils import check_class_labels
from .gaussian_classifier_ops import GaussianDistances, InwardClamp


@MODELS.register_module()
class GaussianClassifier(nn.Module):
    """K diagonal Gaussians over D-dimensional features (Eq. 7, 9 and 19 of the ICU paper).

    The constructor takes ``in_features``/``out_features`` like :class:`torch.nn.Linear`, so
    the layer is a drop-in ``cls_predictor_cfg`` of mmdet bbox heads.

    Numerics:

    * Distances and the Eq. 14 terms are computed in float32 (float64 if the features or
      parameters are float64) with autocast disabled: fp16/bf16 features are up-cast, so
      the values stay finite where (x−μ)²/σ² would overflow fp16 (the gradient returned
      to fp16 features is fp16, under the usual loss scaling).
    * The effective log-variances are clamped to ``log_var_range`` (default
      ``[-10, 10]``, i.e. :math:`\\sigma^2 \\in [4.5\\cdot 10^{-5}, 2.2\\cdot 10^{4}]`); the
      clamp blocks only gradients that point further out of the range.
    * The Mahalanobis term of all K classes uses the matmul expansion
      :math:`\\sum_j w_{kj}x_j^2 - 2\\sum_j w_{kj}\\mu_{kj}x_j + \\sum_j w_{kj}\\mu_{kj}^2`
      (:math:`w = \\sigma^{-2}`) on features and means centred at the mean of the class means
      (exact algebraically, smaller cancellation), clamped at 0. When ``labels`` are given the
      distance to each sample's own class is recomputed directly as
      :math:`\\sum_j w_{zj}(x_j-\\mu_{zj})^2` (O(N·D)), so the true-class term of the loss and its
      gradient have no cancellation error even for tiny variances.
    * Forward and backward are one fused autograd function
      (:mod:`~mmext.models.layers.gaussian_classifier_ops`): the GEMM work of a linear
      layer of twice the width (contractions of both x∘x and x), 2 N·K·D forward and
      4 N·K·D backward.
    * No host synchronisation on CUDA: the labels are checked by a device-side assert
      (:func:`~mmext.models.losses.utils.check_class_labels`), the classes present in Eq. 14
      are found with fixed-size operations and the log-variance clamp's gradient is masked
      without reading back whether anything lies out of range
      (:mod:`~mmext.models.layers.gaussian_classifier_ops`).

    Args:
        in_features (int): Feature dimension D.
        out_features (int): Number of Gaussians K (classes; ``num_classes + 1`` in a
            detector's RoI head, background included).
        use_log_det (bool): Include :math:`\\ln|\\Sigma_k|` in the decision distance (ICU,
            Eq. 9). ``False`` gives the L-GM distance (Eq. 5). Defaults to True.
        log_var_range (Sequence[float]): ``(min, max)`` of the effective log-variances.
            Defaults to ``(-10., 10.)``.
        init_std (float): Std of the normal initialisation of the means. Defaults to 1.0
            (``torch.randn``, as the authors' code); small values make all classes start
            equidistant (uniform initial posterior), which suits fine-tuning.
        init_log_var (float): Initial log-variance of every class and dimension.
            Defaults to 0 (unit variances).
        reg_to_features (bool): Whether Eq. 14's gradient also reaches the features
            through the batch moments (default, the documented reading) or only the
            Gaussian parameters (``False``: the moments are detached targets, the reading
            of Eqs. 15-16). Distances and their gradients are the same either way.
        compile_kernels (bool): Run the element-wise passes around the GEMMs (forward
            and backward) as ``torch.compile``'d kernels (inductor fuses each chain into one
            or two loops; :mod:`mmext.utils.optional_compile`). The first step compiles
            (tens of seconds on a small CPU; again when the batch shape changes); results
            agree with the eager kernels up to float rounding; if compilation fails (no
            C++ compiler, no inductor) a warning is given and the layer runs eagerly.
            A small gain, only for large (K, D) parameters (``benchmarks/icu_head.py``).
            Defaults to False.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        use_log_det: bool = True,
        log_var_range: Sequence[float] = (-10.0, 10.0),
        init_std: float = 1.0,
        init_log_var: float = 0.0,
        reg_to_features: bool = True,
        compile_kernels: bool = False,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                'GaussianClassifier needs in_features >= 1 and '
                f'out_features >= 1, got {in_features}, {out_features}'
            )
        lo, hi = (float(v) for v in log_var_range)
        if not lo < hi:
            raise ValueError(
                f'log_var_range must be (min, max) with min < max, got {tuple(log_var_range)}'
            )
        if not lo <= init_log_var <= hi:
            raise ValueError(f'init_log_var={init_log_var} lies outside log_var_range {(lo, hi)}')
        self.in_features = in_features
        self.out_features = out_features
        self.use_log_det = use_log_det
        self.log_var_range = (lo, hi)
        self.init_std = init_std
        self.init_log_var = init_log_var
        self.reg_to_features = bool(reg_to_features)
        self.compile_kernels = bool(compile_kernels)
        #: class means, shape (K, D)
        self.means = nn.Parameter(torch.empty(out_features, in_features))
        #: raw log-variances, shape (K, D); the layer uses them clamped to log_var_range
        self.log_vars = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Means ~ N(0, init_std²), log-variances = init_log_var."""
        nn.init.normal_(self.means, std=self.init_std)
        nn.init.constant_(self.log_vars, self.init_log_var)

    @property
    def num_classes(self) -> int:
        """int: number of Gaussians K."""
        return self.out_features

    def _compute_dtype(self, x: Optional[Tensor] = None) -> torch.dtype:
        """float32, or float64 when the parameters or ``x`` are float64."""
        dtype = torch.promote_types(self.log_vars.dtype, torch.float32)
        return dtype if x is None else torch.promote_types(dtype, x.dtype)

    def clamped_log_vars(
        self, index: Optional[Tensor] = None, dtype: Optional[torch.dtype] = None
    ) -> Tensor:
        """Effective log-variances ``log_vars`` clamped to ``log_var_range``.

        Args:
            index (Tensor, optional): Class indices to select rows (e.g. the classes of a
                batch); all K rows by default.
            dtype (torch.dtype, optional): Computation dtype; default float32 (float64 for
                float64 parameters).

        Returns:
            Tensor: shape (K, D), or (len(index), D).
        """
        lo, hi = self.log_var_range
        log_vars = self.log_vars if index is None else self.log_vars[index]
        return InwardClamp.apply(log_vars.to(dtype or self._compute_dtype()), lo, hi)

    def variances(self, index: Optional[Tensor] = None) -> Tensor:
        """Effective variances :math:`\\sigma_k^2` (diagonal of :math:`\\Sigma_k`).

        Args:
            index (Tensor, optional): Class indices to select rows; all K by default.

        Returns:
            Tensor: shape (K, D), or (len(index), D).
        """
        return self.clamped_log_vars(index).exp()

    def log_dets(self) -> Tensor:
        """:math:`\\ln|\\Sigma_k| = \\sum_j \\ln\\sigma_{kj}^2` of every class.

        Returns:
            Tensor: shape (K,).
        """
        return self.clamped_log_vars().sum(1)

    def check_features(self, x: Tensor) -> None:
        """Raise a clear error unless ``x`` has shape (N, in_features).

        Args:
            x (Tensor): Features.
        """
        if x.dim() != 2 or x.size(1) != self.in_features:
            raise ValueError(
                f'{type(self).__name__} expects features of shape (N, '
                f'{self.in_features}), got {tuple(x.shape)}: the feature dimension '
                'of the backbone/neck must equal in_features (in_channels of the head)'
            )

    def _run(
        self, x: Tensor, labels: Optional[Tensor], reg_mask: Optional[Tensor], reg_mean: bool
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Validate the inputs and call the fused kernel (autocast off)."""
        self.check_features(x)
        dtype = self._compute_dtype(x)
        if labels is not None:
            labels = labels.to(device=x.device, dtype=torch.long).view(-1)
            if labels.numel() != x.size(0):
                raise ValueError(f'got {labels.numel()} labels for {x.size(0)} features')
            # ValueError on CPU, device-side assert (no host sync) on CUDA
            check_class_labels(labels, self.out_features)
            if reg_mask is not None:  # None: every sample enters Eq. 14
                reg_mask = reg_mask.to(device=x.device, dtype=torch.bool).view(-1)
        else:
            reg_mask = None
        lo, hi = self.log_var_range
        with torch.autocast(device_type=x.device.type, enabled=False):
            return GaussianDistances.apply(
                x.to(dtype),
                self.means.to(dtype),
                self.log_vars.to(dtype),
                labels,
                reg_mask,
                lo,
                hi,
                self.use_log_det,
                reg_mean,
                self.reg_to_features,
                self.compile_kernels,
            )

    def distances(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """Decision distances without margins, Eq. 9 / Eq. 19 (Eq. 5 if not use_log_det).

        Args:
            x (Tensor): Features, shape (N, D), any floating dtype.
            labels (Tensor, optional): Ground-truth class per sample (N,). When given, the
                distance to each sample's own class is recomputed directly (no matmul
                cancellation, see the class notes); the values agree up to rounding.

        Returns:
            Tensor: :math:`d` of shape (N, K); float32 (float64 if ``x`` or the parameters
            are float64).
        """
        return self._run(x, labels, None, False)[0]

    def forward_train(
        self,
        x: Tensor,
        labels: Tensor,
        reg_mask: Optional[Tensor] = None,
        reg_reduction: str = 'sum',
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Distances with exact true-class entries and the two sums of Eq. 14.

        Args:
            x (Tensor): Features (N, D).
            labels (Tensor): Ground-truth classes (N,) in ``[0, K)``.
            reg_mask (Tensor, optional): Boolean (N,): samples that enter Eq. 14 (all by
                default).
            reg_reduction (str): ``'sum'`` (Eq. 14) or ``'mean'`` (divided by the number of
                classes present × D).

        Returns:
            tuple[Tensor, Tensor, Tensor]: distances (N, K),
            :math:`\\sum_k\\|\\mu_k-\\bar\\mu_{N_k}\\|^2` and
            :math:`\\sum_k\\|\\sigma_k^2-\\bar\\sigma_{N_k}^2\\|^2` (classes present only).
        """
        if reg_reduction not in ('sum', 'mean'):
            raise ValueError(f"reg_reduction must be 'sum' or 'mean', got {reg_reduction!r}")
        return self._run(x, labels, reg_mask, reg_reduction == 'mean')

    def forward(self, x: Tensor) -> Tensor:
        """Logits :math:`-d_k` (log-posterior up to a constant under equal priors, Eq. 8).

        Args:
            x (Tensor): Features, shape (N, D).

        Returns:
            Tensor: shape (N, K).
        """
        return -self.distances(x)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f'in_features={self.in_features}, out_features={self.out_features}, '
            f'use_log_det={self.use_log_det}, log_var_range={self.log_var_range}, '
            f'reg_to_features={self.reg_to_features}, '
            f'compile_kernels={self.compile_kernels}'
        )
