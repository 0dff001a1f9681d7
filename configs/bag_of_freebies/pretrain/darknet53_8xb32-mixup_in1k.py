# Bag of Freebies, Table 5 "+Mixup darknet53": mmdet's Darknet-53 pre-trained as an ImageNet-1k
# classifier (global average pooling + linear head on its last stage) with mixup
# (alpha = 0.2), using mmpretrain's standard ResNet recipe (8 x 32 batch, 100 epochs, step
# decay, 224 crops). The YOLOv3 configs load it with
# init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...).
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['mmext', 'mmdet.models'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

mixup_alpha = 0.2

model = dict(
    backbone=dict(_delete_=True, type='mmdet.Darknet', depth=53, out_indices=(5,)),
    head=dict(in_channels=1024, loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(type='Mixup', alpha=mixup_alpha)),
)
