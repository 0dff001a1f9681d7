# ICU loss, Table 3 "LT-CIFAR-100" (imbalance ratio 10), row Baseline: linear classifier +
# softmax cross-entropy with the same network, data and schedule.
_base_ = ['./icu_resnet32_1xb64-200e_cifar100-lt10.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    )
)
