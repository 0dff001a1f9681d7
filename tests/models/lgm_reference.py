"""Reference heads for the ICU digits study's parity arms (test side, not part of mmext).

Two classification heads written anew from the *behaviour* of public code (no code copied),
so that a study arm can train them on the same data, recipe and seeds as mmext's heads:

* :class:`RefLGMClsHead`: the public PyTorch L-GM re-implementation (Yirong Mao,
  ``github.com/YirongMao/softmax_variants``, ``model_utils.py`` class ``LGMLoss``, driven
  by ``train_mnist_LGM.py``): means ~ N(0, 1), log-covariances 0;
  ``dist_k = sum_j (x_j - mu_kj)^2 / exp(s_kj)`` (no 1/2), margin logits
  ``-1/2 (sum_j s_kj + dist_k (1 + alpha [k = z]))``, cross-entropy on those, plus
  ``lambda * (1/N) sum_i (1/2 ||x_i - mu_{z_i}||^2 + 1/2 sum_j s_{z_i j})``: note the
  likelihood term's distance is *Euclidean* (not divided by the covariance). Prediction:
  argmax of the logits without margin. MNIST values there: alpha = 1, lambda = 0.1.
* :class:`RefICUAuthorsClsHead`: the ICU authors' released classifier
  (``github.com/kratos236/ICU-loss``, ``classification/models/ICUNormClassifier.py``, the
  commented-out ``ICUClassifier`` that owns variances; the active class of that file has no
  variances at all): parameters ``mu`` ~ N(0, 1) and ``a`` = 1 (inverse std, precision
  ``a^2``); the "distance" logits are
  ``-1/2 (C(x) - 2 x . (mu_k a_k^2) + ||mu_k a_k||^2) + 1/2 (1 + beta [k = z]) sum_j ln a_kj``
  where ``C(x) = sum_k sum_j x_j^2 a_kj^2`` is summed over the classes (so it is the same for
  every class and drops out of the softmax: the logits are *linear in x*), the log-det term
  is ``-1/4 ln|Sigma_k|`` (a quarter, not a half), the inter-class margin alpha multiplies the
  true class's logit (alpha = 0 there) and the regulariser is per sample:
  ``0.1 mean((mu_z - x)^2) + 0.1 mean(|(mu_z - x)^2 - 1 / a_z^2|)`` (elementwise, clamped to
  [1e-12, 1e12] / [1e-6, 1e6]), not the paper's Eq. 14 on batch class means. Prediction:
  argmax of the logits without margins.

Both are registered in mmpretrain's model registry (``type='RefLGMClsHead'`` /
``'RefICUAuthorsClsHead'``; test-side code stays out of mmext's registry) when this module is
imported: the study arms use the
softmax digits config with ``model.head.type=...`` and
``custom_imports.imports=[mmext,tests.models.lgm_reference]`` (run from the repository root).
"""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor


def _labels(data_samples: List[DataSample]) -> Tensor:
    return torch.cat([s.gt_label for s in data_samples]).long()


class _RefGaussianHead(ClsHead):
    """Shared plumbing: logits from the last feature, a loss dict, no mmengine init.

    The constructor takes the keys of a ``LinearClsHead`` config (``loss``, ``init_cfg``,
    ``topk``), so that a study arm can swap the head ``type`` of a softmax config by
    ``--cfg-options``; ``loss`` is not used (the cross-entropy is computed here) and the
    parameters keep their own initialisation (no mmengine init).

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Feature dimension D.
        loss (dict, optional): Ignored (kept for the ``ClsHead`` interface).
        init_cfg (dict, optional): Must be None: the reference code has no extra init.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
        **kwargs,
    ) -> None:
        if init_cfg is not None:
            raise ValueError('the reference heads keep their own init: init_cfg must be None')
        super().__init__(loss=dict(type='CrossEntropyLoss'), cal_acc=False, init_cfg=None, **kwargs)
        self.num_classes = num_classes
        self.in_channels = in_channels

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Logits without margins (N, K)."""
        return self.logits(feats[-1])

    def logits(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """Logits (N, K); with ``labels`` the training (margin) logits."""
        raise NotImplementedError

    def regulariser(self, x: Tensor, labels: Tensor) -> Tensor:
        """The extra loss term (scalar)."""
        raise NotImplementedError

    def loss(self, feats: Tuple[Tensor], data_samples: List[DataSample], **kwargs) -> dict:
        """Cross-entropy of the margin logits + the head's regulariser."""
        x = feats[-1]
        labels = _labels(data_samples).to(x.device)
        return dict(
            loss_ref_cls=F.cross_entropy(self.logits(x, labels), labels),
            loss_ref_reg=self.regulariser(x, labels),
        )


@MODELS.register_module()
class RefLGMClsHead(_RefGaussianHead):
    """Behaviour of the public PyTorch L-GM code (see the module docstring).

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Feature dimension D.
        alpha (float): Margin on the true class's distance. Defaults to 1.0 (MNIST script).
        lambda_lkd (float): Weight of the likelihood term. Defaults to 0.1 (MNIST script).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        alpha: float = 1.0,
        lambda_lkd: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self.alpha = float(alpha)
        self.lambda_lkd = float(lambda_lkd)
        self.means = nn.Parameter(torch.randn(num_classes, in_channels))
        self.log_vars = nn.Parameter(torch.zeros(num_classes, in_channels))

    def _sq_dist(self, x: Tensor) -> Tensor:
        diff = x[:, None, :] - self.means[None]
        return (diff * diff / self.log_vars.exp()[None]).sum(-1)

    def logits(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        dist = self._sq_dist(x)
        if labels is not None:
            scale = torch.ones_like(dist)
            scale[torch.arange(len(labels), device=x.device), labels] += self.alpha
            dist = dist * scale
        return -0.5 * (self.log_vars.sum(1)[None] + dist)

    def regulariser(self, x: Tensor, labels: Tensor) -> Tensor:
        euclid = (x - self.means[labels]).pow(2).sum(1)
        per_sample = 0.5 * euclid + 0.5 * self.log_vars.sum(1)[labels]
        return self.lambda_lkd * per_sample.sum() / max(len(labels), 1)


@MODELS.register_module()
class RefICUAuthorsClsHead(_RefGaussianHead):
    """Behaviour of the ICU authors' released classifier (see the module docstring).

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Feature dimension D.
        alpha (float): Inter-class margin (multiplies the true logit). Defaults to 0.0 (code).
        beta (float): Intra-class margin on the true class's log term. Defaults to 1e-4
            (code).
        reg_weight (float): Weight of each per-sample regulariser term. Defaults to 0.1
            (code).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        alpha: float = 0.0,
        beta: float = 1e-4,
        reg_weight: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.reg_weight = float(reg_weight)
        self.means = nn.Parameter(torch.randn(num_classes, in_channels))
        self.vars_inv = nn.Parameter(torch.ones(num_classes, in_channels))

    def logits(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        prec = self.vars_inv.pow(2)  # (K, D)
        # the quadratic term summed over the classes: the same for every class
        common = (x.pow(2) @ prec.t()).sum(1, keepdim=True)
        cross = x @ (self.means * prec).t()
        mean_term = (self.means * self.vars_inv).pow(2).sum(1)[None]
        neg_half = -0.5 * (common - 2.0 * cross + mean_term)
        log_term = torch.log(self.vars_inv + 1e-10).sum(1)[None].expand_as(neg_half)
        if labels is None:
            return neg_half + 0.5 * log_term
        true = torch.zeros_like(neg_half, dtype=torch.bool)
        true[torch.arange(len(labels), device=x.device), labels] = True
        out = neg_half + 0.5 * torch.where(true, (1.0 + self.beta) * log_term, log_term)
        return torch.where(true, (1.0 + self.alpha) * out, out)

    def regulariser(self, x: Tensor, labels: Tensor) -> Tensor:
        sq = (self.means[labels] - x).pow(2)
        var = 1.0 / self.vars_inv[labels].pow(2)
        gap = (sq - var).pow(2).clamp(1e-12, 1e12).sqrt()
        return self.reg_weight * (sq.clamp(1e-12, 1e12).mean() + gap.mean())
