# Study arm `+ random shapes` (tools/studies/freebies_yolo_pretrained_digits.py, Table 2 from
# the pre-trained backbone):
# ./yolov3_r18-tiny_aug-rs_1xb8-48e-lr3e-3_digits-det.py (+ random shapes, Table 2's
# 48 epochs at lr 0.003) with the backbone initialised from the digits classification
# pre-training without mixup that tools/studies/pretrain_digits_backbones.py writes (as
# ../yolov3_r18-tiny_aug-rs_cls-pretrained_1xb8-8e_digits-det.py).
_base_ = './yolov3_r18-tiny_aug-rs_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'
# ----------------------------------------------------------------------------------------
model = dict(
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    )
)
