# Digits Bag of Freebies: baseline + class label smoothing (section 3.2, Eq. 3) of the softmax
# RoI classifier, K = 11 logits (10 digits + background).
_base_ = './faster-rcnn_r18-tiny-fpn_baseline_1xb8-1k_digits-det.py'

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
