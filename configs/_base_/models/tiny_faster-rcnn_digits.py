# Faster R-CNN + FPN with a narrow ResNet-18 for the 96x96 digits detection dataset:
# 10 classes, no pretrained weights, anchors sized for 12-40 px digits, fewer sampled
# RoIs/proposals than the COCO setting and one RoIAlign sample per bin (mmcv's CPU
# RoIAlign backward dominated the step time otherwise).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']

# --- tunable ---------------------------------------------------------------------------
width = 16  # channels of the first residual stage (ResNet-18 uses 64)
neck_channels = 32
num_classes = 10
# ----------------------------------------------------------------------------------------

model = dict(
    backbone=dict(depth=18, base_channels=width, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[width, 2 * width, 4 * width, 8 * width], out_channels=neck_channels),
    rpn_head=dict(
        in_channels=neck_channels,
        feat_channels=neck_channels,
        # anchor sides 16, 32, 64, ... on strides 4, 8, 16, ...; digits are mostly taller
        # than wide (ratio = h / w)
        anchor_generator=dict(scales=[4], ratios=[1.0, 2.0, 3.0]),
    ),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(sampling_ratio=1), out_channels=neck_channels),
        bbox_head=dict(in_channels=neck_channels, fc_out_channels=256, num_classes=num_classes),
    ),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64)),
    ),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=100)),
)
