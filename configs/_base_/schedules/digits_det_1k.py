# Short iteration-based schedule for the tiny digits detectors on CPU (mmdet):
# AdamW, linear warm-up then cosine decay, validation every `val_interval`.
# The hooks come from the host's default_runtime; leaf configs set them iteration-based.
# --- tunable ---------------------------------------------------------------------------
max_iters = 1000
val_interval = 500
lr = 2e-3
warmup_iters = 100
# ----------------------------------------------------------------------------------------

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        eta_min=lr * 1e-2,
        begin=warmup_iters,
        end=max_iters,
        T_max=max_iters - warmup_iters,
        by_epoch=False,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
