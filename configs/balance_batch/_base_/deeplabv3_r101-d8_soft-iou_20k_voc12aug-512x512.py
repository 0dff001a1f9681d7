# Balance-batch, section III.B: the CE setting with the multi-class Soft IoU loss
# (I_c = sum p g, U_c = sum p + g - p g, no smoothing), mmext.SoftIoULoss.
_base_ = ['./deeplabv3_r101-d8_ce_20k_voc12aug-512x512.py']

model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, type='mmext.SoftIoULoss', loss_weight=1.0))
)
