# Digits Bag of Freebies, Table 3 "+ class label smoothing" (stacked): warmup + cosine and
# Eq. 3 on the softmax RoI classifier (K = 11 logits, 10 digits + background, eps = 0.1);
# the cosine config plus the delta of the label-smoothing config. + mixup on top of this is
# ./faster-rcnn_r18-tiny-fpn_bof-all_1xb8-1k_digits-det.py.
_base_ = './faster-rcnn_r18-tiny-fpn_cosine_1xb8-1k_digits-det.py'

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
