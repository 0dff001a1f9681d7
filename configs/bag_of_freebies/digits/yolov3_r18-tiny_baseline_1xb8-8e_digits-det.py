# Bag of Freebies on the offline long-tailed digits: the baseline of Table 2, scaled down.
# Tiny YOLOv3 (narrow ResNet-18) from scratch, epoch-based so that the last epochs can run
# without mixup (PipelineSwitchHook), step learning rate after a linear warm-up (the paper's
# baseline: "+ cosine lr schedule" is a freebie), no label smoothing, no mixup.
_base_ = '../../digits/yolov3_r18-tiny_1xb8-1k_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
max_epochs = 8  # 1000 train images / batch 8 = 125 iterations per epoch
warmup_epochs = 1
lr_steps = [6, 7]  # step decay x0.1 (mmdet's YOLOv3 steps at 218/273 and 246/273)
# ----------------------------------------------------------------------------------------

train_dataloader = dict(
    num_workers=1,
    persistent_workers=True,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
train_cfg = dict(
    _delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs
)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(type='MultiStepLR', by_epoch=True, milestones=lr_steps, gamma=0.1),
]
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=max_epochs), logger=dict(interval=25))
log_processor = dict(by_epoch=True)
