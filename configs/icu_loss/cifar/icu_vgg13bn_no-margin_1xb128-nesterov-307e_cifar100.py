# ICU loss, Table 3 "CIFAR-100", row "ICU loss" (no margins).
_base_ = ['./icu_vgg13bn_1xb128-nesterov-307e_cifar100.py']

model = dict(head=dict(alpha=0.0, gamma=0.0))
