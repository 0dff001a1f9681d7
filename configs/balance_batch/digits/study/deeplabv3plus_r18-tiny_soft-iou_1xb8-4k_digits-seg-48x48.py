# Study arm `Soft IoU` (tools/studies/balance_batch_digits.py):
# The baseline, the multi-class Soft IoU loss (mmext.SoftIoULoss), random batches of 8
# images (mmengine InfiniteSampler).
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-4k_digits-seg-48x48.py']

model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, type='mmext.SoftIoULoss', loss_weight=1.0))
)
