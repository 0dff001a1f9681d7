# Digits, soft-iou, batch size 8, random batches, with the paper's optimiser (Sec. III: SGD,
# lr 2.5e-4, momentum 0.9, weight decay 5e-4) instead of AdamW; same warm-up and poly decay.
# The SGD schedule is the shared one of the CE SGD base; the loss is the one of
# ./_base_/deeplabv3plus_r18-tiny_soft-iou_1xb8-2k_digits-seg.py.
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-sgd-2k_digits-seg.py']

model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, type='mmext.SoftIoULoss', loss_weight=1.0))
)
