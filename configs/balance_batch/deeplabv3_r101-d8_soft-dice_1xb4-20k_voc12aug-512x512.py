# Balance-batch Fig. 5(a): soft-dice, batch size 4, no Balance-batch
_base_ = './_base_/deeplabv3_r101-d8_soft-dice_20k_voc12aug-512x512.py'
batch_size = 4
train_dataloader = dict(batch_size=batch_size)
