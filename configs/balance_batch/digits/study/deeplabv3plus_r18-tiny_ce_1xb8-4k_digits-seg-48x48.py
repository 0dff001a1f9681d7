# Study arm `CE` (tools/studies/balance_batch_digits.py):
# The baseline, cross-entropy, random batches of 8 images (mmengine InfiniteSampler).
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-4k_digits-seg-48x48.py']
