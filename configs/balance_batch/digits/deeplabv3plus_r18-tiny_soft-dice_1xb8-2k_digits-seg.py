# Digits, soft-dice, batch size 8, random batches (mmengine InfiniteSampler).
_base_ = ['./_base_/deeplabv3plus_r18-tiny_soft-dice_1xb8-2k_digits-seg.py']
