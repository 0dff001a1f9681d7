# The digits CE setting with the multi-class Soft Dice loss of Eq. 5 (mmext.SoftDiceLoss).
_base_ = ['./deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']

model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, type='mmext.SoftDiceLoss', loss_weight=1.0))
)
