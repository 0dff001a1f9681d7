# Digits, ce with Balance-batch: at most 8 images, every one of the 11 classes in
# every batch (background counted).
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']
batch_max = 8
batch_cl = 11
train_dataloader = dict(
    batch_size=batch_max, batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=batch_cl)
)
