# Softmax baseline of icu_lenetpp-2d_1xb32-1k_digits-cls.py: the same LeNet++ (2-D feature),
# data and optimiser, with a linear classifier + cross-entropy (ICU paper, Eq. 1).
_base_ = ['./icu_lenetpp-2d_1xb32-1k_digits-cls.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels={{_base_.feat_dim}},
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    )
)
