# Study arm `Soft IoU + BB fixed-size cl11` (tools/studies/balance_batch_digits.py):
# Soft IoU with fixed-size Balance-batch: every batch exactly 8 images and all 11 classes
# (background counted), so the class constraint binds at the baseline's batch size.
_base_ = ['./deeplabv3plus_r18-tiny_soft-iou-bb-cl11_1xb8-4k_digits-seg-48x48.py']
train_dataloader = dict(batch_sampler=dict(fixed_size=True))
