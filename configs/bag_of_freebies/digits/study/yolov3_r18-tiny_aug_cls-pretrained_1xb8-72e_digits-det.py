# Study arm `baseline from the pre-trained backbone, 72 epochs` (tools/studies/pilots/
# freebies_yolo_schedule_pilot.py; a pilot, no paper row):
# ./yolov3_r18-tiny_aug_1xb8-72e_digits-det.py with the backbone initialised from the digits
# classification pre-training without mixup that tools/studies/pretrain_digits_backbones.py
# writes (as ../yolov3_r18-tiny_aug_cls-pretrained_1xb8-8e_digits-det.py).
_base_ = './yolov3_r18-tiny_aug_1xb8-72e_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'
# ----------------------------------------------------------------------------------------
model = dict(
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    )
)
