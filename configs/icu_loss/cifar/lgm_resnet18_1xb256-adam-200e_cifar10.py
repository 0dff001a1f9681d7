# ICU loss, Table 1 "CIFAR-10", row L-GM: Gaussian head without ln|Sigma| in the decision
# distance (L-GM's Eq. 5); gamma has nothing to act on and is 0.
_base_ = ['./icu_resnet18_1xb256-adam-200e_cifar10.py']

model = dict(head=dict(use_log_det=False, gamma=0.))
