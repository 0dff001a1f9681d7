# Bag of Freebies (COCO, Table 4 path): + warmup and cosine learning rate (section 3.4):
# mmdet's 500-iteration linear warmup times cosine annealing to 0 over the 12 epochs.
_base_ = './faster-rcnn_r50-fpn_baseline_8xb2-1x_coco.py'

warmup_iters = 500
eta_min = 0.0

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        eta_min=eta_min,
        begin=0,
        end=_base_.max_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
]
