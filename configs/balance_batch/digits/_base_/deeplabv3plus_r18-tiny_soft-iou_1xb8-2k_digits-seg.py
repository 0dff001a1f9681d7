# The digits CE setting with the multi-class Soft IoU loss (mmext.SoftIoULoss).
_base_ = ['./deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']

model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, type='mmext.SoftIoULoss', loss_weight=1.0))
)
