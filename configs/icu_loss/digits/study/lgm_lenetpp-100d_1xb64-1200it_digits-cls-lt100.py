# Study arm `L-GM 100-D LT100` (tools/studies/icu_digits.py):
# L-GM (Wan et al., CVPR 2018; mmext.LGMLoss via ICUClsHead mode='lgm') with the MNIST
# values of the public PyTorch L-GM code (alpha 1, lambda 0.1); no gamma, no Eq. 14.
_base_ = ['./_base_/icu_lenetpp-100d_1xb64-1200it_digits-cls-lt100.py']
# --- tunable ---------------------------------------------------------------------------
__alpha = 1.0
__lambda_lkd = 0.1
# ----------------------------------------------------------------------------------------
model = dict(
    head=dict(
        mode='lgm',
        alpha=__alpha,
        gamma=0.0,
        lambda_lkd=__lambda_lkd,
        lambda_mu=0.0,
        lambda_sigma=0.0,
    )
)
