# Balance-batch Fig. 1 (baseline): ce, batch size 7, no Balance-batch
_base_ = './_base_/deeplabv3_r101-d8_ce_20k_voc12aug-512x512.py'
batch_size = 7
train_dataloader = dict(batch_size=batch_size)
