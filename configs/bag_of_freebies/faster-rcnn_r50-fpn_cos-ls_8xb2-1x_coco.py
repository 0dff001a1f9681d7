# Bag of Freebies (COCO, Table 4 path): + class label smoothing (section 3.2, Eq. 3) of the
# softmax RoI classifier, K = 81 logits (80 classes + background).
_base_ = './faster-rcnn_r50-fpn_cos_8xb2-1x_coco.py'

label_smooth_val = 0.1

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True,
                type='mmext.LabelSmoothCrossEntropyLoss',
                label_smooth_val=label_smooth_val,
                use_sigmoid=False,
                loss_weight=1.0,
            )
        )
    )
)
