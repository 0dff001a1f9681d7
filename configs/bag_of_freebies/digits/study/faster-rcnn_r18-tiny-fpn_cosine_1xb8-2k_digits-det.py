# Study arm `+ cosine` (tools/studies/freebies_frcnn_digits.py, Table 3): the baseline with
# the same linear warm-up, then cosine annealing to 1 % of the lr at the last iteration
# (mmext.WarmupCosineLR, Sec. 3.4).
_base_ = './faster-rcnn_r18-tiny-fpn_baseline_1xb8-2k_digits-det.py'

param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=_base_.warmup_iters,
        warmup_start_factor=0.01,
        eta_min_ratio=0.01,
        begin=0,
        end=_base_.train_cfg.max_iters,
        by_epoch=False,
    )
]
