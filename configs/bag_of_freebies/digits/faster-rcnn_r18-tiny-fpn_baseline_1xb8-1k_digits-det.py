# Bag of Freebies on the offline digits detection data (CPU-sized evidence for Table 3):
# baseline tiny Faster R-CNN + FPN with a step learning rate (linear warmup, x0.1 at 70 % and
# 90 % of the iterations) instead of the digits recipe's warmup + cosine, no mixup, no label
# smoothing.
_base_ = '../../digits/faster-rcnn_r18-tiny-fpn_1xb8-1k_digits-det.py'

lr_steps = [700, 900]

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=_base_.warmup_iters),
    dict(type='MultiStepLR', by_epoch=False, milestones=lr_steps, gamma=0.1),
]
