# Digits, ce, batch size 8, random batches, with the paper's optimiser (Sec. III: SGD,
# lr 2.5e-4, momentum 0.9, weight decay 5e-4) instead of AdamW; same warm-up and poly decay.
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-sgd-2k_digits-seg.py']
