# L-GM baseline of icu_lenetpp-2d_1xb32-1k_digits-cls.py: the same network, data and
# optimiser with the L-GM loss (Wan et al., CVPR 2018; mmext.LGMLoss via ICUClsHead
# mode='lgm'): margin alpha on the true class's Mahalanobis term, likelihood term
# lambda_lkd * (d_z + 1/2 ln|Lambda_z|); no gamma, no Eq. 14 regulariser. alpha 0.1 and
# lambda 0.01 are the values of the L-GM authors' released code (CIFAR-100); the ICU digits
# study (tools/studies/icu_digits.py) uses alpha 1, lambda 0.1, the MNIST values of the
# public PyTorch L-GM code, in its leaves (./study/lgm_*).
_base_ = ['./icu_lenetpp-2d_1xb32-1k_digits-cls.py']

model = dict(
    head=dict(mode='lgm', alpha=0.1, gamma=0.0, lambda_lkd=0.01, lambda_mu=0.0, lambda_sigma=0.0)
)
