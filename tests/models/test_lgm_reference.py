"""The reference heads of the ICU study's parity arms (tests/models/lgm_reference.py):
their behaviour against hand computations and, for L-GM, against mmext's LGMLoss."""

import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmext.models.losses import LGMLoss
from mmext.registry import MODELS as MMEXT_MODELS
from tests.models.lgm_reference import RefICUAuthorsClsHead, RefLGMClsHead


def _samples(labels):
    return [DataSample().set_gt_label(int(z)) for z in labels]


def test_registered_for_configs():
    """In mmpretrain's registry (the configs' default scope), never in mmext's."""
    for name in ('RefLGMClsHead', 'RefICUAuthorsClsHead'):
        head = MODELS.build(dict(type=f'mmpretrain.{name}', num_classes=10, in_channels=2))
        assert head.means.shape == (10, 2)
        assert name not in MMEXT_MODELS.module_dict


@pytest.mark.parametrize('zero_log_vars', [True, False])
def test_ref_lgm_against_mmext_lgm_loss(zero_log_vars):
    """Margin cross-entropy identical to mmext's LGMLoss; the likelihood term agrees when the
    covariances are the identity (the reference's distance there is Euclidean)."""
    torch.manual_seed(0)
    head = RefLGMClsHead(num_classes=5, in_channels=3, alpha=1.0, lambda_lkd=0.1).double()
    if not zero_log_vars:
        with torch.no_grad():
            head.log_vars.normal_(0, 0.5)
    x = torch.randn(16, 3, dtype=torch.float64) * 2
    labels = torch.randint(0, 5, (16,))
    losses = head.loss((x,), _samples(labels))
    var = head.log_vars.exp()
    maha = ((x[:, None] - head.means[None]) ** 2 / var[None]).sum(-1)
    log_dets = head.log_vars.sum(1)
    distances = 0.5 * maha + 0.5 * log_dets[None]  # ICU Eq. 9 distances, log-det included
    ce = LGMLoss(alpha=1.0, lambda_lkd=0.0)(distances, labels, log_dets=log_dets)
    assert float(losses['loss_ref_cls']) == pytest.approx(float(ce), rel=1e-10)
    full = LGMLoss(alpha=1.0, lambda_lkd=0.1)(distances, labels, log_dets=log_dets)
    euclid = ((x - head.means[labels]) ** 2).sum(1)
    expected_reg = 0.1 * (0.5 * euclid + 0.5 * log_dets[labels]).mean()
    assert float(losses['loss_ref_reg']) == pytest.approx(float(expected_reg), rel=1e-10)
    if zero_log_vars:
        total = losses['loss_ref_cls'] + losses['loss_ref_reg']
        assert float(total) == pytest.approx(float(full), rel=1e-10)
    else:  # mmext's likelihood term is Mahalanobis
        assert float(full - ce) != pytest.approx(float(losses['loss_ref_reg']), rel=1e-3)
    # prediction: logits without margin, -1/2 (ln|Lambda_k| + maha_k)
    assert torch.allclose(head((x,)), -0.5 * (log_dets[None] + maha))


def test_ref_icu_authors_logits_are_linear_in_x_with_a_quarter_log_det():
    torch.manual_seed(0)
    head = RefICUAuthorsClsHead(num_classes=4, in_channels=3).double()
    with torch.no_grad():
        head.vars_inv.uniform_(0.5, 2.0)
    x1, x2 = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)

    def rel(x):  # logits relative to class 0: what the softmax sees
        out = head((x,))
        return out - out[:, :1]

    # affine in x: the quadratic term is shared by every class
    mid = rel(0.3 * x1 + 0.7 * x2)
    assert torch.allclose(mid, 0.3 * rel(x1) + 0.7 * rel(x2))
    # at x = mu_k = 0 only the log term is left: +1/2 sum ln a_k = -1/4 ln|Sigma_k|
    with torch.no_grad():
        head.means.zero_()
    sigma_log_det = (1.0 / head.vars_inv**2).log().sum(1)
    assert torch.allclose(head((torch.zeros(1, 3, dtype=torch.float64),))[0], -0.25 * sigma_log_det)


def test_ref_icu_authors_loss_by_hand():
    torch.manual_seed(1)
    head = RefICUAuthorsClsHead(num_classes=3, in_channels=2, alpha=0.5, beta=0.2).double()
    with torch.no_grad():
        head.vars_inv.uniform_(0.5, 2.0)
    x = torch.randn(4, 2, dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 2])
    losses = head.loss((x,), _samples(labels))
    a, mu = head.vars_inv, head.means
    rows = []
    for i in range(4):
        common = sum(float(x[i, j] ** 2 * a[k, j] ** 2) for k in range(3) for j in range(2))
        row = []
        for k in range(3):
            cross = sum(float(x[i, j] * mu[k, j] * a[k, j] ** 2) for j in range(2))
            mean_term = sum(float((mu[k, j] * a[k, j]) ** 2) for j in range(2))
            log_term = sum(math.log(float(a[k, j])) for j in range(2))
            true = k == int(labels[i])
            logit = -0.5 * (common - 2 * cross + mean_term) + 0.5 * (1.2 if true else 1.0) * (
                log_term
            )
            row.append(logit * (1.5 if true else 1.0))
        rows.append(row)
    ce = F.cross_entropy(torch.tensor(rows, dtype=torch.float64), labels)
    assert float(losses['loss_ref_cls']) == pytest.approx(float(ce), rel=1e-9)
    sq = (mu[labels] - x) ** 2
    reg = 0.1 * sq.mean() + 0.1 * (sq - 1 / a[labels] ** 2).abs().mean()
    assert float(losses['loss_ref_reg']) == pytest.approx(float(reg), rel=1e-9)
