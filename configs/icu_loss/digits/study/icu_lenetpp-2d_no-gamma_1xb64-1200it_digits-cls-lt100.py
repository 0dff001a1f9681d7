# Study arm `ICU no gamma 2-D LT100` (tools/studies/icu_digits.py):
# Table 3 ablation: the ICU arm without the intra-class margin (gamma = 0).
_base_ = ['./icu_lenetpp-2d_1xb64-1200it_digits-cls-lt100.py']

model = dict(head=dict(gamma=0.0))
