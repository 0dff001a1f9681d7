# Balance-batch Fig. 1: ce with Balance-batch, batch_max 9, batch_cl 8
_base_ = './_base_/deeplabv3_r101-d8_ce_20k_voc12aug-512x512.py'
batch_max = 9
batch_cl = 8
train_dataloader = dict(
    batch_size=batch_max, batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=batch_cl)
)
