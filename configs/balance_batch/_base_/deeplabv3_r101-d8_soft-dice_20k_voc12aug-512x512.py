# Balance-batch, section III.C: the CE setting with the multi-class Soft Dice loss of
# Eq. 5 (no smoothing term), mmext.SoftDiceLoss.
_base_ = ['./deeplabv3_r101-d8_ce_20k_voc12aug-512x512.py']

model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, type='mmext.SoftDiceLoss', loss_weight=1.0))
)
