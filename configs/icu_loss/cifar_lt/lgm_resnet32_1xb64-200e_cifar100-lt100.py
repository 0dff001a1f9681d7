# ICU loss, Table 2 "CIFAR-100-LT", imbalance ratio 100, row L-GM: Gaussian head without
# ln|Sigma| in the decision distance (L-GM's Eq. 5); gamma has nothing to act on and is 0.
_base_ = ['./icu_resnet32_1xb64-200e_cifar100-lt100.py']

model = dict(head=dict(use_log_det=False, gamma=0.))
