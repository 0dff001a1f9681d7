# Study arm `Soft IoU + BB fixed-size cl6` (tools/studies/balance_batch_digits.py):
# Soft IoU with fixed-size Balance-batch: every batch exactly 8 images and at least 6
# classes (does not bind: random batches of 8 hold about as many).
_base_ = ['./deeplabv3plus_r18-tiny_soft-iou-bb-cl6_1xb8-4k_digits-seg-48x48.py']
train_dataloader = dict(batch_sampler=dict(fixed_size=True))
