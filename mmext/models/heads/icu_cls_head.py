"""mmpretrain classification head with the ICU Gaussian classifier (Zhu & Yu, section 3)."""

from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample
from torch import Tensor

from mmext.registry import MODELS

from ..layers.gaussian_classifier import GaussianClassifier
from ..losses.icu_loss import ICULoss
from ..losses.lgm_loss import LGMLoss


@MODELS.register_module()
class ICUClsHead(ClsHead):
    """Classification head whose classifier is one diagonal Gaussian per class.

    Training loss = ``loss_icu_cls`` (Eq. 17 with the margins of Eq. 18, see
    :mod:`mmext.models.losses.icu_loss` for the reading of Eq. 18) + ``loss_icu_reg``
    (Eq. 14: λ_μ‖μ_k − μ̄_k‖² + λ_σ‖σ_k² − σ̄_k²‖² over the classes of the batch).
    Prediction: scores softmax(−d) (posterior of Eq. 6 with equal priors, α = γ = 0),
    label argmin_k d_k (Eq. 9). The Gaussian parameters are ``head.means`` (K×D) and
    ``head.log_vars`` (K×D).

    Ablations (Table 3): ``alpha=0`` and/or ``gamma=0``; ``lambda_mu=lambda_sigma=0`` removes
    the regulariser. ``use_log_det=False``: the ICU loss on L-GM's decision distance (no
    ln|Σ|; then ``gamma`` must be 0). ``mode='lgm'``: the L-GM loss itself
    (:class:`~mmext.models.losses.LGMLoss`: margin ``alpha`` on the Mahalanobis part of the
    true class, likelihood term ``lambda_lkd``·(d_z + ½ln|Λ_z|); set ``gamma=0`` and
    usually ``lambda_mu=lambda_sigma=0``, L-GM having no moment regulariser), reported as
    ``loss_lgm`` (+ ``loss_icu_reg``).

    Weight decay: the cross-entropy of Gaussian distances is invariant to rescaling the
    features, means and standard deviations jointly, so weight decay on ``means`` /
    ``log_vars`` shrinks them with nothing resisting; exempt them in the optimiser config::

        optim_wrapper = dict(..., paramwise_cfg=dict(custom_keys={
            '.means': dict(decay_mult=0.), '.log_vars': dict(decay_mult=0.)}))

    (every ``configs/icu_loss`` config does).

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Feature dimension D.
        alpha (float): Inter-class margin α (Eq. 17). Defaults to 1e-4 (paper).
        gamma (float): Intra-class margin γ (Eq. 18). Defaults to 1e-3 (paper).
        lambda_mu (float): λ_μ of Eq. 14. Defaults to 0.1 (paper).
        lambda_sigma (float): λ_σ of Eq. 14. Defaults to 0.1 (paper).
        use_log_det (bool): ICU decision distance (True) or L-GM's (False).
        reg_reduction (str): ``'mean'`` (default: Eq. 14 divided by the number of classes
            present × D; trains stably from D = 2 to 2048, ``benchmarks/icu_reg_scale.py``)
            or ``'sum'`` (Eq. 14's own scale).
        reg_to_features (bool): Let Eq. 14's gradient reach the features through the
            batch moments (default, the documented reading) or only the Gaussian
            parameters (``False``, the reading of Eqs. 15-16, which give gradients for
            μ_k and σ_k only; :class:`~mmext.models.layers.GaussianClassifier`).
        mode (str): ``'icu'`` (default) or ``'lgm'`` (see above).
        lambda_lkd (float): λ of L-GM's likelihood term (``mode='lgm'``). Defaults to 0.01
            (L-GM authors' code).
        gamma_reading (str): Reading of Eq. 18 (``'covariance'``, ``'log_det'`` = the ICU
            authors' code, ``'literal'``; :mod:`mmext.models.losses.icu_loss`).
        log_var_range (Sequence[float]): Clamp range of the log-variances.
        init_std (float): Std of the initial means. Defaults to 1.0 (the authors'
            ``torch.randn``); a tiny std puts all classes at one point at the start, where
            the cross-entropy has no direction to separate them.
        loss_weight (float): Weight of ``loss_icu_cls``. Defaults to 1.0.
        compile_kernels (bool): ``torch.compile`` the element-wise passes of the
            classifier and of the loss (``compile_kernels`` of
            :class:`~mmext.models.layers.GaussianClassifier`, :class:`ICULoss` and
            :class:`LGMLoss`): fewer passes over the (K, D) parameters and (N, K)
            distances, same results up to float rounding, a one-off compilation at the
            first step (eager, with a warning, if compilation fails). A small gain, only
            for large (K, D) parameters (many thousands of classes; slower for few classes;
            ``configs/icu_loss/README.md``, Speed). Defaults to False.
        topk (int | tuple[int]): Top-k accuracy for ``cal_acc``. Defaults to ``(1, )``.
        cal_acc (bool): Log the training accuracy. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        alpha: float = 1e-4,
        gamma: float = 1e-3,
        lambda_mu: float = 0.1,
        lambda_sigma: float = 0.1,
        use_log_det: bool = True,
        reg_reduction: str = 'mean',
        reg_to_features: bool = True,
        mode: str = 'icu',
        lambda_lkd: float = 0.01,
        gamma_reading: str = 'covariance',
        log_var_range: Sequence[float] = (-10.0, 10.0),
        init_std: float = 1.0,
        loss_weight: float = 1.0,
        compile_kernels: bool = False,
        topk: Union[int, Tuple[int]] = (1,),
        cal_acc: bool = False,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if not use_log_det and gamma != 0:
            raise ValueError(
                'gamma acts on ln|Sigma|, which the L-GM mode '
                '(use_log_det=False) removes: set gamma=0'
            )
        if lambda_mu < 0 or lambda_sigma < 0:
            raise ValueError(
                f'lambda_mu and lambda_sigma must be >= 0, got {lambda_mu}, {lambda_sigma}'
            )
        if reg_reduction not in ('sum', 'mean'):
            raise ValueError(f"reg_reduction must be 'sum' or 'mean', got {reg_reduction!r}")
        if mode not in ('icu', 'lgm'):
            raise ValueError(f"mode must be 'icu' or 'lgm', got {mode!r}")
        if mode == 'lgm' and (gamma != 0 or not use_log_det):
            raise ValueError(
                "mode='lgm' needs gamma=0 (L-GM has no intra-class margin) "
                'and use_log_det=True (its posterior includes ln|Lambda|)'
            )
        if mode == 'lgm':
            loss = LGMLoss(
                alpha=alpha,
                lambda_lkd=lambda_lkd,
                loss_weight=loss_weight,
                compile_kernels=compile_kernels,
            )
        else:
            loss = ICULoss(
                alpha=alpha,
                gamma=gamma,
                gamma_reading=gamma_reading,
                loss_weight=loss_weight,
                compile_kernels=compile_kernels,
            )
        super().__init__(loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.lambda_mu = lambda_mu
        self.lambda_sigma = lambda_sigma
        self.reg_reduction = reg_reduction
        self.mode = mode
        self.classifier = GaussianClassifier(
            in_channels,
            num_classes,
            use_log_det=use_log_det,
            log_var_range=log_var_range,
            init_std=init_std,
            reg_to_features=reg_to_features,
            compile_kernels=compile_kernels,
        )

    @property
    def means(self) -> torch.nn.Parameter:
        """Parameter: class means, (K, D)."""
        return self.classifier.means

    @property
    def log_vars(self) -> torch.nn.Parameter:
        """Parameter: raw class log-variances, (K, D) (used clamped)."""
        return self.classifier.log_vars

    def distances(self, x: Tensor) -> Tensor:
        """Decision distances d (N, K) of Eq. 9/19, without margins.

        Args:
            x (Tensor): Features (N, D).

        Returns:
            Tensor: float32 distances.
        """
        return self.classifier.distances(x)

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Logits −d (N, K) of the last feature level."""
        return self.classifier(self.pre_logits(feats))

    def loss(self, feats: Tuple[Tensor], data_samples: List[DataSample], **kwargs) -> dict:
        """ICU classification loss and regulariser.

        Args:
            feats (tuple[Tensor]): Backbone/neck outputs; the last one, (N, D), is used.
            data_samples (list[DataSample]): Samples with hard ``gt_label``.
            **kwargs: Unused (ClsHead contract).

        Returns:
            dict[str, Tensor]: ``loss_icu_cls`` (``loss_lgm`` in L-GM mode),
            ``loss_icu_reg`` (and ``accuracy_top-k``
            with ``cal_acc``). An empty batch (no data sample) gives loss zeros that keep
            the graph (the policy of every mmext loss,
            :mod:`mmext.models.losses.empty_batch`) and no accuracy.
        """
        if data_samples and 'gt_score' in data_samples[0]:
            raise ValueError(
                'ICUClsHead needs hard labels (the margins and Eq. 14 are per class); '
                'batch augmentations that produce gt_score (Mixup, CutMix) are not '
                'supported'
            )
        x = self.pre_logits(feats)
        if data_samples:
            labels = torch.cat([i.gt_label for i in data_samples]).to(x.device).long()
        else:  # empty batch
            labels = torch.zeros(0, dtype=torch.long, device=x.device)
        distances, reg_mu, reg_sigma = self.classifier.forward_train(
            x, labels, reg_reduction=self.reg_reduction
        )
        num_dims = self.in_channels if self.classifier.use_log_det else 0
        losses = dict()
        log_dets = self.classifier.log_dets() if self.loss_module.needs_log_dets else None
        losses[self.loss_module.loss_name] = self.loss_module(
            distances, labels, avg_factor=distances.size(0), num_dims=num_dims, log_dets=log_dets
        )
        losses['loss_icu_reg'] = self.lambda_mu * reg_mu + self.lambda_sigma * reg_sigma
        if self.cal_acc and labels.numel():  # no accuracy of an empty batch
            acc = Accuracy.calculate(-distances.detach(), labels, topk=self.topk)
            losses.update({f'accuracy_top-{k}': a for k, a in zip(self.topk, acc)})
        return losses
