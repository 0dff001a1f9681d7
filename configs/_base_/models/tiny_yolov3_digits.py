# YOLOv3 with a narrow ResNet-18 backbone (strides 8, 16, 32) for the 96x96 digits
# detection dataset. mmdet ships no YOLOv3 model base (its yolo configs are full configs
# with COCO data), so the model is written out here with mmdet's YOLOV3Neck/YOLOV3Head
# and losses as in `mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py`.
# --- tunable ---------------------------------------------------------------------------
width = 16  # channels of the first residual stage (ResNet-18 uses 64)
num_classes = 10
# anchors (w, h) in pixels per level, strides 32, 16, 8: 9 clusters of a k-means with
# distance 1 - IoU over the default digits_det train boxes (longer side 12-40 px)
anchor_sizes = [
    [(28, 29), (25, 37), (35, 36)],
    [(10, 26), (17, 21), (21, 28)],
    [(5, 17), (10, 13), (14, 16)],
]
# ----------------------------------------------------------------------------------------

model = dict(
    type='YOLOV3',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[0, 0, 0],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
        pad_size_divisor=32,
    ),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=width,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None,
    ),
    neck=dict(
        type='YOLOV3Neck',
        num_scales=3,
        in_channels=[8 * width, 4 * width, 2 * width],
        out_channels=[8 * width, 4 * width, 2 * width],
    ),
    bbox_head=dict(
        type='YOLOV3Head',
        num_classes=num_classes,
        in_channels=[8 * width, 4 * width, 2 * width],
        out_channels=[16 * width, 8 * width, 4 * width],
        anchor_generator=dict(
            type='YOLOAnchorGenerator', base_sizes=anchor_sizes, strides=[32, 16, 8]
        ),
        bbox_coder=dict(type='YOLOBBoxCoder'),
        featmap_strides=[32, 16, 8],
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0, reduction='sum'),
        loss_conf=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0, reduction='sum'),
        loss_xy=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=2.0, reduction='sum'),
        loss_wh=dict(type='MSELoss', loss_weight=2.0, reduction='sum'),
    ),
    train_cfg=dict(
        assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0)
    ),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        conf_thr=0.005,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=100,  # mmdet's and GluonCV's 100 (label smoothing lifts many scores)
    ),
)
