# Bag of Freebies, Table 6 "-Mixup FRCNN / +Mixup R101": the R101 label-smoothing row (all
# freebies but detection mixup) with a ResNet-101 pre-trained on ImageNet with mixup, produced
# by configs/bag_of_freebies/pretrain/resnet101_8xb32-mixup_in1k.py.
_base_ = './faster-rcnn_r101-fpn_cos-ls_8xb2-1x_coco.py'

mixup_pretrained = 'work_dirs/resnet101_8xb32-mixup_in1k/epoch_100.pth'

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=mixup_pretrained))
)
