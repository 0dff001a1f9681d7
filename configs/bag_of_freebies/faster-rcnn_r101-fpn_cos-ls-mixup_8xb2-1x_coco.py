# Bag of Freebies, Table 4 "Faster-RCNN R101 Our BoF" (Table 6 "+Mixup FRCNN / -Mixup R101").
# The R50 config of the same row with a ResNet-101 backbone (ImageNet weights from
# torchvision), exactly as mmdet derives faster-rcnn_r101_fpn_1x_coco from the R50 config.
_base_ = './faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_coco.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101'))
)
