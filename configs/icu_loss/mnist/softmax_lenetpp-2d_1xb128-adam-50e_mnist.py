# ICU loss, Table 1 "MNIST 2D", row Baseline: the same network with a linear classifier
# and softmax cross-entropy (Eq. 1).
_base_ = ['./icu_lenetpp-2d_1xb128-adam-50e_mnist.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels={{_base_.feat_dim}},
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    )
)
