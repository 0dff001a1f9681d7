# Bag of Freebies Table 2 "+ cosine lr schedule" (stacked) on the digits from the pre-trained
# backbone: ./yolov3_r18-tiny_aug-rs-cos_1xb8-8e_digits-det.py with the tiny YOLOv3's
# backbone initialised from the digits classification pre-training that
# tools/studies/pretrain_digits_backbones.py writes (the paper's YOLOv3 starts from an
# ImageNet-pretrained Darknet-53).
_base_ = './yolov3_r18-tiny_aug-rs-cos_1xb8-8e_digits-det.py'

pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'

model = dict(
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    )
)
