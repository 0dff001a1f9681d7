# Study arm `5 (tiny YOLOv3): + pre, + det` (tools/studies/freebies_pretrain_digits.py,
# Table 5 "+Mixup darknet, +Mixup YOLO3"):
# ./yolov3_r18-tiny_aug-mixup_cls-pretrained_1xb8-12e_digits-det.py with the backbone
# pre-trained with mixup (alpha 0.2; ../resnet18-tiny_mixup_1xb32-1k_digits-cls.py).
_base_ = './yolov3_r18-tiny_aug-mixup_cls-pretrained_1xb8-12e_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__checkpoint = 'work_dirs/pretrained/resnet18-tiny_mixup_digits-cls.pth'
# ----------------------------------------------------------------------------------------
# `pretrained` (top level) keeps the plain checkpoint's path, not read: see __checkpoint
model = dict(backbone=dict(init_cfg=dict(checkpoint=__checkpoint)))
