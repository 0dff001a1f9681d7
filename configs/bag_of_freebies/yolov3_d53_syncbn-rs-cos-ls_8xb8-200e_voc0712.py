# Bag of Freebies, Table 2 "+ class label smoothing" (section 3.2). YOLOv3 classifies with
# sigmoids; as in the authors' GluonCV YOLOv3 the targets of the anchors matched to an object
# are clipped to [eps, 1 - eps] with eps = min(1 / K, 1 / 40) (K = 20 on VOC); anchors without
# an object keep no classification target.
_base_ = './yolov3_d53_syncbn-rs-cos_8xb8-200e_voc0712.py'

label_smooth_val = 0.025  # min(1 / 20, 1 / 40)

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='mmext.LabelSmoothCrossEntropyLoss',
            label_smooth_val=label_smooth_val,
            use_sigmoid=True,
            sigmoid_mode='gluoncv',
            loss_weight=1.0,
            reduction='sum',
        )
    )
)
