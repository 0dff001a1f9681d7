# Study arm `6 (tiny Faster R-CNN): + pre, - det` (tools/studies/freebies_pretrain_digits.py,
# Table 6 "+Mixup backbone, -Mixup FRCNN"):
# ./faster-rcnn_r18-tiny-fpn_cls-pretrained_1xb8-1k-val250_digits-det.py with the
# backbone pre-trained with mixup (alpha 0.2; ../resnet18-tiny_mixup_1xb32-1k_digits-cls.py).
_base_ = './faster-rcnn_r18-tiny-fpn_cls-pretrained_1xb8-1k-val250_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__checkpoint = 'work_dirs/pretrained/resnet18-tiny_mixup_digits-cls.pth'
# ----------------------------------------------------------------------------------------
# `pretrained` (top level) keeps the plain checkpoint's path, not read: see __checkpoint
model = dict(backbone=dict(init_cfg=dict(checkpoint=__checkpoint)))
