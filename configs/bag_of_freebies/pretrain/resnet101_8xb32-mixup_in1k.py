# Bag of Freebies, Table 6 "+Mixup R101": ResNet-101 pre-trained on ImageNet-1k with mixup
# (Zhang et al., alpha = 0.2 as in "Bag of Tricks for Image Classification"), on top of
# mmpretrain's standard ResNet-101 recipe (8 x 32 batch, 100 epochs, step decay). The mixed
# one-hot targets are soft, hence the soft cross entropy. The detection configs load the
# result with init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...).
_base_ = 'mmpretrain::resnet/resnet101_8xb32_in1k.py'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

mixup_alpha = 0.2

model = dict(
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(type='Mixup', alpha=mixup_alpha)),
)
