"""mmdet RoI bbox head whose classifier is the ICU Gaussian classifier (beyond the paper)."""

from typing import Optional, Sequence, Tuple

import torch
from mmdet.models.losses import accuracy
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from torch import Tensor

from mmext.registry import MODELS

from ..layers.gaussian_classifier import GaussianClassifier
from ..losses.icu_loss import ICULoss
from ..losses.lgm_loss import LGMLoss


@MODELS.register_module()
class ICUBBoxHead(Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` with K+1 diagonal Gaussians (background included) as ``fc_cls``.

    Everything except the classifier is the upstream head, with the same module names, so a
    model-zoo Faster R-CNN checkpoint loads into it with ``strict=False``: the missing keys
    are ``fc_cls.means``/``fc_cls.log_vars``, the unexpected ones ``fc_cls.weight``/
    ``fc_cls.bias``. Scores at test time are softmax(−d) over the K+1 Gaussians (the
    upstream post-processing then applies unchanged).

    Training: ``loss_cls`` is an :class:`~mmext.models.losses.ICULoss` (margins α, γ of
    Eq. 17/18) on the decision distances of the sampled RoIs, weighted by ``label_weights``
    and averaged like the upstream classification loss; ``loss_icu_reg`` is Eq. 14 over the
    classes present among the RoIs with positive label weight.

    Background: by default the background Gaussian is regularised like the object classes
    (``regularize_background=True``). Background RoIs are a broad, multi-modal population,
    so Eq. 14 makes its Gaussian the moment-matched (wide) fit of that population; without
    the regulariser its variance would be learnt by maximum likelihood through the
    cross-entropy alone, which the paper (section 3.2) reports as non-convergent. With
    ``regularize_background=False`` only the foreground classes enter Eq. 14.

    The classification features of the last training forward are kept until the next
    :meth:`loss` call (Eq. 14 needs them, and the upstream loss API passes only the scores).

    Args:
        lambda_mu (float): λ_μ of Eq. 14. Defaults to 0.1.
        lambda_sigma (float): λ_σ of Eq. 14. Defaults to 0.1.
        use_log_det (bool): ICU decision distance (True) or L-GM's (False).
        regularize_background (bool): Include the background class in Eq. 14.
        reg_reduction (str): ``'mean'`` (default, as in ``ICUClsHead``: Eq. 14 divided by
            the number of classes present × D) or ``'sum'`` (Eq. 14's own scale). With RoI
            features of
            hundreds of dimensions the sum scale makes the regulariser's feature gradient
            (cubic in the feature spread through the σ² term) dominate: a tiny Faster
            R-CNN (256-d RoI features) trained from scratch with SGD lr 0.01 diverged
            within 4 iterations with ``'sum'`` and trained with ``'mean'``
            (``tests/models/heads/test_icu_bbox_head.py``).
        reg_to_features (bool): Let Eq. 14's gradient reach the RoI features through the
            batch moments (default) or only the Gaussian parameters (``False``, the
            reading of Eqs. 15-16; see ``ICUClsHead``).
        log_var_range (Sequence[float]): Clamp range of the log-variances.
        init_std (float): Std of the initial means. Defaults to 0.01 (the upstream
            ``fc_cls`` init std): all K+1 classes start equidistant, i.e. a uniform
            initial posterior, which suits fine-tuning a pretrained detector.
        loss_cls (dict): Config of the :class:`ICULoss` (α, γ, ``gamma_reading``, loss
            weight), or of an :class:`~mmext.models.losses.LGMLoss` (L-GM; then set
            ``lambda_mu=lambda_sigma=0`` for L-GM without Eq. 14). As for ``ICUClsHead``,
            exempt ``.means`` / ``.log_vars`` from weight decay in the optimiser config.
        compile_kernels (bool): ``torch.compile`` the element-wise passes of the
            Gaussian classifier and (unless ``loss_cls`` sets it) of the loss (see
            ``ICUClsHead``). Defaults to False.
        **kwargs: ``Shared2FCBBoxHead`` arguments (``cls_predictor_cfg`` excluded).
    """

    def __init__(
        self,
        lambda_mu: float = 0.1,
        lambda_sigma: float = 0.1,
        use_log_det: bool = True,
        regularize_background: bool = True,
        reg_reduction: str = 'mean',
        reg_to_features: bool = True,
        log_var_range: Sequence[float] = (-10.0, 10.0),
        init_std: float = 0.01,
        loss_cls: dict = dict(type='mmext.ICULoss', alpha=1e-4, gamma=1e-3, loss_weight=1.0),
        compile_kernels: bool = False,
        **kwargs,
    ) -> None:
        if 'cls_predictor_cfg' in kwargs:
            raise ValueError(
                'ICUBBoxHead builds its own classifier (GaussianClassifier); '
                'do not pass cls_predictor_cfg'
            )
        if kwargs.get('with_cls', True) is False:
            raise ValueError('ICUBBoxHead needs with_cls=True')
        if reg_reduction not in ('sum', 'mean'):
            raise ValueError(f"reg_reduction must be 'sum' or 'mean', got {reg_reduction!r}")
        cls_predictor_cfg = dict(
            type=GaussianClassifier,
            use_log_det=use_log_det,
            log_var_range=log_var_range,
            init_std=init_std,
            reg_to_features=reg_to_features,
            compile_kernels=compile_kernels,
        )
        super().__init__(cls_predictor_cfg=cls_predictor_cfg, loss_cls=loss_cls, **kwargs)
        if not isinstance(self.loss_cls, (ICULoss, LGMLoss)):
            raise TypeError(
                "ICUBBoxHead needs loss_cls=dict(type='mmext.ICULoss', ...) "
                "or dict(type='mmext.LGMLoss', ...) "
                f'(use _delete_=True over a base config), got '
                f'{type(self.loss_cls).__name__}'
            )
        if isinstance(self.loss_cls, LGMLoss) and not use_log_det:
            raise ValueError('LGMLoss needs use_log_det=True (its posterior includes ln|Lambda|)')
        if not use_log_det and getattr(self.loss_cls, 'gamma', 0) != 0:
            raise ValueError(
                'gamma acts on ln|Sigma|, which the L-GM mode '
                '(use_log_det=False) removes: set loss_cls.gamma=0'
            )
        if compile_kernels and 'compile_kernels' not in loss_cls:  # loss_cls's own wins
            self.loss_cls.compile_kernels = True
        self.lambda_mu = lambda_mu
        self.lambda_sigma = lambda_sigma
        self.regularize_background = regularize_background
        self.reg_reduction = reg_reduction
        self._cls_cache: Optional[Tuple[Tensor, Tensor]] = None

    @property
    def means(self) -> torch.nn.Parameter:
        """Parameter: Gaussian means, (K+1, D), background last."""
        return self.fc_cls.means

    @property
    def log_vars(self) -> torch.nn.Parameter:
        """Parameter: raw Gaussian log-variances, (K+1, D) (used clamped)."""
        return self.fc_cls.log_vars

    def distances(self, x: Tensor) -> Tensor:
        """Decision distances d (N, K+1) of Eq. 9/19 of classification features.

        Args:
            x (Tensor): Features entering ``fc_cls`` (N, D).

        Returns:
            Tensor: float32 distances, without margins.
        """
        return self.fc_cls.distances(x)

    def _branch(self, x: Tensor, convs, fcs) -> Tensor:
        """Run one branch (convs -> optional avg pool + flatten -> fcs)."""
        for conv in convs:
            x = conv(x)
        if x.dim() > 2:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
        for fc in fcs:
            x = self.relu(fc(x))
        return x

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Same computation as ``ConvFCBBoxHead.forward``; keeps the class features.

        Args:
            x (Tensor): RoI features (num_rois, C, H, W).

        Returns:
            tuple[Tensor, Tensor]: ``cls_score`` = −d (num_rois, K+1) and ``bbox_pred``.
        """
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs > 0:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
            for fc in self.shared_fcs:
                x = self.relu(fc(x))
        x_cls = self._branch(x, self.cls_convs, self.cls_fcs)
        x_reg = self._branch(x, self.reg_convs, self.reg_fcs)
        cls_score = self.fc_cls(x_cls)
        bbox_pred = self.fc_reg(x_reg) if self.with_reg else None
        self._cls_cache = (cls_score, x_cls) if self.training else None
        return cls_score, bbox_pred

    def _cached_features(self, cls_score: Tensor) -> Tensor:
        """Class features of the forward that produced ``cls_score``."""
        cache, self._cls_cache = self._cls_cache, None
        if cache is None or cache[0] is not cls_score:
            raise RuntimeError(
                'ICUBBoxHead.loss must receive the cls_score of its latest training '
                'forward (Eq. 14 needs the RoI features of that forward)'
            )
        return cache[1]

    def loss(
        self,
        cls_score: Tensor,
        bbox_pred: Tensor,
        rois: Tensor,
        labels: Tensor,
        label_weights: Tensor,
        bbox_targets: Tensor,
        bbox_weights: Tensor,
        reduction_override: Optional[str] = None,
    ) -> dict:
        """Upstream box regression loss + ICU classification loss + Eq. 14.

        Args:
            cls_score (Tensor): Output of :meth:`forward` (num_rois, K+1).
            bbox_pred (Tensor): Box deltas.
            rois (Tensor): RoIs (num_rois, 5).
            labels (Tensor): RoI labels, background = ``num_classes``.
            label_weights (Tensor): RoI weights.
            bbox_targets (Tensor): Regression targets.
            bbox_weights (Tensor): Regression weights.
            reduction_override (str, optional): Overrides the loss reductions.

        Returns:
            dict: ``loss_cls``, ``acc``, ``loss_icu_reg`` and ``loss_bbox``.
        """
        feats = None if cls_score is None else self._cached_features(cls_score)
        losses = super().loss(
            None,
            bbox_pred,
            rois,
            labels,
            label_weights,
            bbox_targets,
            bbox_weights,
            reduction_override,
        )
        if cls_score is None or cls_score.numel() == 0:
            return losses
        labels = labels.long()
        # mmdet's max(#(label_weights > 0), 1), kept on the device (no host sync)
        avg_factor = torch.sum(label_weights > 0).float().clamp_(min=1.0)
        keep = label_weights > 0
        if not self.regularize_background:
            keep &= labels != self.num_classes
        distances, reg_mu, reg_sigma = self.fc_cls.forward_train(
            feats, labels, reg_mask=keep, reg_reduction=self.reg_reduction
        )
        num_dims = self.fc_cls.in_features if self.fc_cls.use_log_det else 0
        losses['loss_cls'] = self.loss_cls(
            distances,
            labels,
            label_weights,
            avg_factor=avg_factor,
            reduction_override=reduction_override,
            num_dims=num_dims,
            log_dets=self.fc_cls.log_dets() if self.loss_cls.needs_log_dets else None,
        )
        losses['acc'] = accuracy(cls_score, labels)
        losses['loss_icu_reg'] = self.lambda_mu * reg_mu + self.lambda_sigma * reg_sigma
        return losses
