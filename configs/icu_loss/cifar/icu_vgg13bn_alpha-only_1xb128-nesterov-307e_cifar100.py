# ICU loss, Table 3 "CIFAR-100", row "+ alpha" (inter-class margin only).
_base_ = ['./icu_vgg13bn_1xb128-nesterov-307e_cifar100.py']

model = dict(head=dict(alpha=1e-4, gamma=0.0))
