# Study arm `softmax 100-D LT100` (tools/studies/icu_digits.py):
# The baseline: a linear classifier + cross-entropy (ICU paper, Eq. 1), PyTorch's
# default initialisation of the linear layer too (no init_cfg).
_base_ = ['./_base_/icu_lenetpp-100d_1xb64-1200it_digits-cls-lt100.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels=_base_.model.head.in_channels,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None,
    )
)
