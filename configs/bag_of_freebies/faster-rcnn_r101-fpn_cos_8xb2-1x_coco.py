# Bag of Freebies, COCO, Table 4 path: R101 + warmup and cosine learning rate (section 3.4).
# The R50 config of the same row with a ResNet-101 backbone (ImageNet weights from
# torchvision), exactly as mmdet derives faster-rcnn_r101_fpn_1x_coco from the R50 config.
_base_ = './faster-rcnn_r50-fpn_cos_8xb2-1x_coco.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101'))
)
