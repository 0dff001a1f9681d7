# Warmup + cosine learning-rate schedule, 12 epochs (Bag of Freebies, section 3.4).
# Drop-in replacement of mmdet's `_base_/schedules/schedule_1x.py` (same optimizer, same
# 500-iteration linear warmup) whose step decay at epochs 8 and 11 is replaced by cosine
# annealing to 0 over the 12 epochs. The two schedulers overlap during the first 500
# iterations; both are chainable (multiplicative), so there lr = base * warmup(i) * cos(i).
max_epochs = 12
warmup_iters = 500
warmup_start_factor = 0.001
eta_min = 0.0

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR', start_factor=warmup_start_factor, by_epoch=False, begin=0, end=warmup_iters
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=eta_min,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
]

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)
)

# base_batch_size = (8 GPUs) x (2 samples per GPU)
auto_scale_lr = dict(enable=False, base_batch_size=16)
