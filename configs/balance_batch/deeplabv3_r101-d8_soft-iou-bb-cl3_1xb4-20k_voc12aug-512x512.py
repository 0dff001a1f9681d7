# Balance-batch Fig. 3(b): soft-iou with Balance-batch, batch_max 4, batch_cl 3
_base_ = './_base_/deeplabv3_r101-d8_soft-iou_20k_voc12aug-512x512.py'
batch_max = 4
batch_cl = 3
train_dataloader = dict(
    batch_size=batch_max, batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=batch_cl)
)
