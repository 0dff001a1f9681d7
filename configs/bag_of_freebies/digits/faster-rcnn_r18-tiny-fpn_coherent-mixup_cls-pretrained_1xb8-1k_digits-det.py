# Bag of Freebies Tables 5/6 on the digits, "+Mixup FRCNN": weighted coherent mixup
# (./faster-rcnn_r18-tiny-fpn_coherent-mixup_1xb8-1k_digits-det.py) from the backbone
# pre-trained on the digits classification data, input normalised as in the pre-training.
# The mixup-pretrained backbone via model.backbone.init_cfg.checkpoint=work_dirs/pretrained/
# resnet18-tiny_mixup_digits-cls.pth.
_base_ = './faster-rcnn_r18-tiny-fpn_coherent-mixup_1xb8-1k_digits-det.py'

pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'

model = dict(
    data_preprocessor=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=True),
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    ),
)
