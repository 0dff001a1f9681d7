# ICU loss, Table 2 "CIFAR-100-LT", imbalance ratio 10, row ICU; also Table 3
# "LT-CIFAR-100", row "ICU loss + alpha + gamma".
_base_ = ['./icu_resnet32_1xb64-200e_cifar100-lt100.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=10))
