# ICU loss, Table 1 "CIFAR-100", row L-GM: Gaussian head without ln|Sigma| (L-GM's Eq. 5).
_base_ = ['./icu_vgg13bn_1xb128-nesterov-307e_cifar100.py']

model = dict(head=dict(use_log_det=False, gamma=0.))
