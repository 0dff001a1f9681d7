# Digits, soft-iou with fixed-size Balance-batch: every batch exactly 8 images and all 11
# classes (background counted), so the class constraint binds at the baseline's batch size.
_base_ = ['./deeplabv3plus_r18-tiny_soft-iou-bb-cl11_1xb8-2k_digits-seg.py']
train_dataloader = dict(batch_sampler=dict(fixed_size=True))
