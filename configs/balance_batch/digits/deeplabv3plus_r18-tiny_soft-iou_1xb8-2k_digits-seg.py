# Digits, soft-iou, batch size 8, random batches (mmengine InfiniteSampler).
_base_ = ['./_base_/deeplabv3plus_r18-tiny_soft-iou_1xb8-2k_digits-seg.py']
