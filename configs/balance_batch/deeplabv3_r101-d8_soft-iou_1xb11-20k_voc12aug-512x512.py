# Balance-batch Fig. 3(a): soft-iou, batch size 11, no Balance-batch
_base_ = './_base_/deeplabv3_r101-d8_soft-iou_20k_voc12aug-512x512.py'
batch_size = 11
train_dataloader = dict(batch_size=batch_size)
