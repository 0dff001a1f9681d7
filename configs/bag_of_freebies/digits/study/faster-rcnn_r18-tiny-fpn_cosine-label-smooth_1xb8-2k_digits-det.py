# Study arm `+ label smoothing` (tools/studies/freebies_frcnn_digits.py, Table 3, stacked):
# + cosine with Eq. 3 on the softmax RoI classifier (K = 11 logits, 10 digits + background,
# eps = 0.1).
_base_ = './faster-rcnn_r18-tiny-fpn_cosine_1xb8-2k_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
label_smooth_val = 0.1
# ----------------------------------------------------------------------------------------
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
