# Study arm `5 (tiny YOLOv3, 48 epochs): - pre, + det`
# (tools/studies/freebies_pretrain_yolo_digits.py, Table 5 "-Mixup darknet, +Mixup YOLO3"):
# ./yolov3_r18-tiny_aug-mixup_1xb8-48e-lr3e-3_digits-det.py (weighted coherent mixup Beta(1.5, 1.5), Table 2's
# 48 epochs at lr 0.003) with the backbone initialised from the digits classification
# pre-training without mixup that tools/studies/pretrain_digits_backbones.py writes (as
# ../yolov3_r18-tiny_aug-mixup_cls-pretrained_1xb8-8e_digits-det.py).
_base_ = './yolov3_r18-tiny_aug-mixup_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'
# ----------------------------------------------------------------------------------------
model = dict(
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    )
)
