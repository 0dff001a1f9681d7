# Bag of Freebies Tables 5/6 on the digits, "-Mixup FRCNN": the step-lr tiny Faster R-CNN
# baseline initialised from the backbone pre-trained on the digits classification data
# (./resnet18-tiny_1xb32-1k_digits-cls.py, written by
# tools/studies/pretrain_digits_backbones.py), with the input normalised as in the
# pre-training (x / 255, RGB). The mixup-pretrained backbone via
# model.backbone.init_cfg.checkpoint=work_dirs/pretrained/resnet18-tiny_mixup_digits-cls.pth.
_base_ = './faster-rcnn_r18-tiny-fpn_baseline_1xb8-1k_digits-det.py'

pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'

model = dict(
    data_preprocessor=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=True),
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    ),
)
