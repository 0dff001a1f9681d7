"""Explicit-loop transcriptions of the ICU paper's equations (Zhu & Yu), for the tests.

Written independently of mmext, scalar by scalar, to be slow and obvious. Inputs are torch
tensors so that autograd gives the gradients of the transcribed equations.
"""

import math
from typing import List, Optional, Sequence

import torch


def eq9_distances(
    x: torch.Tensor, means: torch.Tensor, log_vars: torch.Tensor, use_log_det: bool = True
) -> torch.Tensor:
    """Eq. 9/19: d_k = ½[(x−μ_k)ᵀΣ_k⁻¹(x−μ_k) + ln|Σ_k|], Σ_k = diag(exp(log_vars_k))."""
    rows: List[torch.Tensor] = []
    for i in range(x.shape[0]):
        row = []
        for k in range(means.shape[0]):
            maha = 0.0
            log_det = 0.0
            for j in range(x.shape[1]):
                maha = maha + (x[i, j] - means[k, j]) ** 2 / torch.exp(log_vars[k, j])
                log_det = log_det + log_vars[k, j]
            row.append(0.5 * (maha + (log_det if use_log_det else 0.0)))
        rows.append(torch.stack(row))
    return torch.stack(rows)


def eq17_loss(
    dist: torch.Tensor,
    labels: Sequence[int],
    alpha: float,
    gamma: float,
    num_dims: int,
    weights: Optional[Sequence[float]] = None,
) -> torch.Tensor:
    """Eq. 17 with Eq. 18 read as ln|(1+γ)Σ_z| = ln|Σ_z| + D ln(1+γ), mean over samples.

    Per sample: −log( e^{−(1+α) d_z^γ} / (Σ_{k≠z} e^{−d_k} + e^{−(1+α) d_z^γ}) ).
    """
    terms = []
    for i, z in enumerate(labels):
        z = int(z)
        d_true = dist[i, z] + 0.5 * num_dims * math.log(1.0 + gamma)
        numerator = torch.exp(-(1.0 + alpha) * d_true)
        denominator = numerator
        for k in range(dist.shape[1]):
            if k != z:
                denominator = denominator + torch.exp(-dist[i, k])
        term = -torch.log(numerator / denominator)
        terms.append(term * (1.0 if weights is None else weights[i]))
    return torch.stack(terms).sum() / len(terms)


def eq14_terms(x: torch.Tensor, labels: Sequence[int], means: torch.Tensor, log_vars: torch.Tensor):
    """Eq. 12-14 (diagonal): Σ_k |μ_k − μ̄_k|² and Σ_k |σ_k² − σ̄_k²|² over classes present.

    μ̄_k: mean of the class-k features; σ̄_k²: per-dimension mean of (x − μ_k)², around the
    parameter μ_k (Eq. 13).
    """
    reg_mu = 0.0
    reg_sigma = 0.0
    for k in sorted(set(int(z) for z in labels)):
        members = [i for i, z in enumerate(labels) if int(z) == k]
        for j in range(x.shape[1]):
            mean_j = sum(x[i, j] for i in members) / len(members)
            var_j = sum((x[i, j] - means[k, j]) ** 2 for i in members) / len(members)
            reg_mu = reg_mu + (means[k, j] - mean_j) ** 2
            reg_sigma = reg_sigma + (torch.exp(log_vars[k, j]) - var_j) ** 2
    return reg_mu, reg_sigma


def eq18_readings_loss(
    x: torch.Tensor,
    means: torch.Tensor,
    log_vars: torch.Tensor,
    labels: Sequence[int],
    alpha: float,
    gamma: float,
    reading: str,
) -> torch.Tensor:
    """Eq. 17 with the three readings of Eq. 18, from the features, mean over samples.

    d_z^γ = ½[(x−μ_z)ᵀΣ_z⁻¹(x−μ_z) + L], L = ln|(1+γ)Σ_z| ('covariance', every variance
    scaled), (1+γ) ln|Σ_z| ('log_det', the ICU authors' code) or ln(1+γ) + ln|Σ_z|
    ('literal'); true logit −(1+α) d_z^γ, other logits −d_k (Eq. 9).
    """
    terms = []
    for i, z in enumerate(labels):
        z = int(z)
        logits = []
        for k in range(means.shape[0]):
            maha = 0.0
            for j in range(x.shape[1]):
                maha = maha + (x[i, j] - means[k, j]) ** 2 / torch.exp(log_vars[k, j])
            if k != z:
                logits.append(-0.5 * (maha + torch.log(torch.prod(torch.exp(log_vars[k])))))
                continue
            cov = torch.exp(log_vars[k])
            if reading == 'covariance':
                log_det = torch.log(torch.prod((1.0 + gamma) * cov))
            elif reading == 'log_det':
                log_det = (1.0 + gamma) * torch.log(torch.prod(cov))
            else:
                log_det = math.log(1.0 + gamma) + torch.log(torch.prod(cov))
            logits.append(-(1.0 + alpha) * 0.5 * (maha + log_det))
        logits = torch.stack(logits)
        terms.append(torch.log(torch.exp(logits).sum()) - logits[z])
    return torch.stack(terms).mean()


def lgm_loss(
    x: torch.Tensor,
    means: torch.Tensor,
    log_vars: torch.Tensor,
    labels: Sequence[int],
    alpha: float,
    lambda_: float,
) -> torch.Tensor:
    """L-GM (Wan et al., CVPR 2018): L_cls,m + λ L_lkd, mean over samples.

    d_k = ½(x−μ_k)ᵀΛ_k⁻¹(x−μ_k); logits −d_k(1 + α[k=z]) − ½ln|Λ_k| (equal priors);
    L_lkd = d_z + ½ln|Λ_z|.
    """
    terms = []
    for i, z in enumerate(labels):
        z = int(z)
        logits = []
        half_log_dets = []
        d = []
        for k in range(means.shape[0]):
            maha = 0.0
            for j in range(x.shape[1]):
                maha = maha + (x[i, j] - means[k, j]) ** 2 / torch.exp(log_vars[k, j])
            d.append(0.5 * maha)
            half_log_dets.append(0.5 * torch.log(torch.prod(torch.exp(log_vars[k]))))
            margin = 1.0 + alpha if k == z else 1.0
            logits.append(-d[k] * margin - half_log_dets[k])
        logits = torch.stack(logits)
        cls = -torch.log(torch.exp(logits[z]) / torch.exp(logits).sum())
        terms.append(cls + lambda_ * (d[z] + half_log_dets[z]))
    return torch.stack(terms).mean()
