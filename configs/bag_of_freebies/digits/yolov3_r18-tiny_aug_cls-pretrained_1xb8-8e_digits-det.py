# Bag of Freebies Tables 5/6 on the digits, "-Mixup YOLO3": the augmented tiny YOLOv3 baseline
# (Table 2 "baseline") initialised from the backbone pre-trained on the digits classification
# data (./resnet18-tiny_1xb32-1k_digits-cls.py, written by
# tools/studies/pretrain_digits_backbones.py). "+Mixup darknet" = the mixup-pretrained
# checkpoint: model.backbone.init_cfg.checkpoint=work_dirs/pretrained/
# resnet18-tiny_mixup_digits-cls.pth.
_base_ = './yolov3_r18-tiny_aug_1xb8-8e_digits-det.py'

pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'

model = dict(
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    )
)
