# Study arm `ICU no reg 2-D balanced` (tools/studies/icu_digits.py):
# Table 3 ablation: the ICU arm without the Eq. 14 regulariser
# (lambda_mu = lambda_sigma = 0).
_base_ = ['./icu_lenetpp-2d_1xb64-1200it_digits-cls-lt1.py']

model = dict(head=dict(lambda_mu=0.0, lambda_sigma=0.0))
