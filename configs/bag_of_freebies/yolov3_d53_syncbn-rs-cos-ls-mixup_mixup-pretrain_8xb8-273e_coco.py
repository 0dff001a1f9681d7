# Bag of Freebies, Table 5 "+Mixup YOLO3 / +Mixup darknet53": the full bag of freebies with a
# Darknet-53 pre-trained on ImageNet with mixup
# (configs/bag_of_freebies/pretrain/darknet53_8xb32-mixup_in1k.py).
_base_ = './yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-273e_coco.py'

mixup_pretrained = 'work_dirs/darknet53_8xb32-mixup_in1k/epoch_100.pth'

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=mixup_pretrained))
)
