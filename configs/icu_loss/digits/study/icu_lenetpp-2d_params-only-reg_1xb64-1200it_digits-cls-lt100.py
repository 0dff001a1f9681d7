# Study arm `ICU params-only reg 2-D LT100` (tools/studies/icu_digits.py):
# Post hoc arm (kept from the first run): the ICU arm with Eq. 14 fitting only the
# Gaussian parameters (reg_to_features=False).
_base_ = ['./icu_lenetpp-2d_1xb64-1200it_digits-cls-lt100.py']

model = dict(head=dict(reg_to_features=False))
