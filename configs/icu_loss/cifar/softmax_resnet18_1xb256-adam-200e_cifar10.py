# ICU loss, Table 1 "CIFAR-10", row Baseline: linear classifier + softmax cross-entropy with
# the same network, optimiser and schedule.
_base_ = ['./icu_resnet18_1xb256-adam-200e_cifar10.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    )
)
