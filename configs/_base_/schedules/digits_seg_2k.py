# Short iteration-based schedule for the tiny digits segmentation models on CPU (mmseg
# hooks): AdamW, linear warm-up then polynomial decay, validation every `val_interval`.
# --- tunable ---------------------------------------------------------------------------
max_iters = 2000
val_interval = 500
lr = 2e-3
warmup_iters = 100
# ----------------------------------------------------------------------------------------

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=1e-4)
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='PolyLR',
        eta_min=lr * 1e-2,
        power=0.9,
        begin=warmup_iters,
        end=max_iters,
        by_epoch=False,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # crash-safe saves (temporary file + atomic rename; the old checkpoint is pruned last)
    checkpoint=dict(
        type='mmext.SafeCheckpointHook', by_epoch=False, interval=val_interval, max_keep_ckpts=1
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
