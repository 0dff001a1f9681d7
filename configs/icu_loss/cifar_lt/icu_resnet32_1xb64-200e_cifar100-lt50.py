# ICU loss, Table 2 "CIFAR-100-LT", imbalance ratio 50, row ICU.
_base_ = ['./icu_resnet32_1xb64-200e_cifar100-lt100.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=50))
