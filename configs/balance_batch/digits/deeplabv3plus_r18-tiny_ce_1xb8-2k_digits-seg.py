# Digits, ce, batch size 8, random batches (mmengine InfiniteSampler).
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']
