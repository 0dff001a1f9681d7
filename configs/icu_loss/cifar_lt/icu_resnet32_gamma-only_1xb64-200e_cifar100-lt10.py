# ICU loss, Table 3 "LT-CIFAR-100" (imbalance ratio 10), row "+ gamma" (intra-class margin only).
_base_ = ['./icu_resnet32_1xb64-200e_cifar100-lt10.py']

model = dict(head=dict(alpha=0.0, gamma=1e-3))
