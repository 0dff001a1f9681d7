# Bag of Freebies Tables 5/6 on the digits, "+Mixup YOLO3": weighted coherent mixup
# (./yolov3_r18-tiny_aug-mixup_1xb8-8e_digits-det.py) from the backbone pre-trained on the
# digits classification data without mixup; the mixup-pretrained one via
# model.backbone.init_cfg.checkpoint=work_dirs/pretrained/resnet18-tiny_mixup_digits-cls.pth.
_base_ = './yolov3_r18-tiny_aug-mixup_1xb8-8e_digits-det.py'

pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'

model = dict(
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    )
)
