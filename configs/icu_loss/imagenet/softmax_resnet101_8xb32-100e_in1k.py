# ICU loss, Table 1 "ImageNet", row Baseline: linear classifier + softmax cross-entropy with
# the paper's ImageNet schedule (lr 0.01, steps at 50/75, weight decay 5e-4).
_base_ = ['./icu_resnet101_8xb32-100e_in1k.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    )
)
