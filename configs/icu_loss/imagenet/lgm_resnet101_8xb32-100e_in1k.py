# ICU loss, Table 1 "ImageNet", row L-GM: Gaussian head without ln|Sigma| (L-GM's Eq. 5).
_base_ = ['./icu_resnet101_8xb32-100e_in1k.py']

model = dict(head=dict(use_log_det=False, gamma=0.))
