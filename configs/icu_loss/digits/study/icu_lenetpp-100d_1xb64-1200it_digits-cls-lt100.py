# Study arm `ICU 100-D LT100` (tools/studies/icu_digits.py):
# The ICU head with the paper's defaults (alpha 1e-4, gamma 1e-3, lambda_mu =
# lambda_sigma = 0.1, section 4.1): the setting as it is.
_base_ = ['./_base_/icu_lenetpp-100d_1xb64-1200it_digits-cls-lt100.py']
