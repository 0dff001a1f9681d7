# ICU loss, Table 2 "CIFAR-10-LT", imbalance ratio 10, row L-GM:
# the L-GM loss (Wan et al., CVPR 2018; mmext.LGMLoss via ICUClsHead mode='lgm'): margin
# alpha on the true class's Mahalanobis term, likelihood term lambda_lkd * (d_z +
# 1/2 ln|Lambda_z|); no gamma, no Eq. 14 regulariser. alpha 0.1 and
# lambda 0.01 are the values of the L-GM authors' released code.
_base_ = ['./icu_resnet32_1xb64-200e_cifar10-lt10.py']

model = dict(
    head=dict(mode='lgm', alpha=0.1, gamma=0.0, lambda_lkd=0.01, lambda_mu=0.0, lambda_sigma=0.0)
)
