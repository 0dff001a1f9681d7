# Balance-batch Fig. 5(b): soft-dice with Balance-batch, batch_max 6, batch_cl 3
_base_ = './_base_/deeplabv3_r101-d8_soft-dice_20k_voc12aug-512x512.py'
batch_max = 6
batch_cl = 3
train_dataloader = dict(
    batch_size=batch_max, batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=batch_cl)
)
