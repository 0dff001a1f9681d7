# ICU loss, Table 1 "CIFAR-100" and Table 3 "CIFAR-100", row Baseline: linear classifier +
# softmax cross-entropy with the same network and schedule.
_base_ = ['./icu_vgg13bn_1xb128-nesterov-307e_cifar100.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=100,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    )
)
