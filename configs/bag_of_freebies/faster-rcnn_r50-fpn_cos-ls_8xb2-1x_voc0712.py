# Bag of Freebies, Table 3 "+ class label smoothing" (section 3.2, Eq. 3): the softmax RoI
# classifier (20 classes + background) is trained against q' = (1 - eps) q + eps / K with
# K = 21 logits; background RoIs are smoothed like the others.
_base_ = './faster-rcnn_r50-fpn_cos_8xb2-1x_voc0712.py'

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
