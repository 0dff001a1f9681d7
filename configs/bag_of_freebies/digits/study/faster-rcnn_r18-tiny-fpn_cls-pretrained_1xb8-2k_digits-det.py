# Study arm `6 (tiny Faster R-CNN, 2,000 iterations): - pre, - det`
# (tools/studies/freebies_pretrain_frcnn_digits.py, Table 6 "-Mixup backbone, -Mixup
# FRCNN"): Table 3's step baseline (./faster-rcnn_r18-tiny-fpn_baseline_1xb8-2k_digits-det.py,
# 2,000 iterations, x0.1 at 1,400 and 1,800) with the backbone initialised from the digits
# classification pre-training without mixup that tools/studies/pretrain_digits_backbones.py
# writes, the input normalised as in the pre-training (x / 255, RGB); as
# ../faster-rcnn_r18-tiny-fpn_cls-pretrained_1xb8-1k_digits-det.py.
_base_ = './faster-rcnn_r18-tiny-fpn_baseline_1xb8-2k_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
pretrained = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'
# ----------------------------------------------------------------------------------------
model = dict(
    data_preprocessor=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=True),
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    ),
)
