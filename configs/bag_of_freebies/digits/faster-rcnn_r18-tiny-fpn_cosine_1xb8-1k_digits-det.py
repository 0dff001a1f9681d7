# Digits Bag of Freebies: baseline + warmup and cosine learning rate (section 3.4): the same
# linear warmup, then cosine annealing to 1 % of the base lr at the last iteration.
_base_ = './faster-rcnn_r18-tiny-fpn_baseline_1xb8-1k_digits-det.py'

param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=_base_.warmup_iters,
        warmup_start_factor=0.01,
        eta_min_ratio=0.01,
        begin=0,
        end=_base_.max_iters,
        by_epoch=False,
    )
]
