# Warmup + cosine learning-rate schedule of YOLOv3 on Pascal VOC (Bag of Freebies,
# section 3.4 and Fig. 6; GluonCV yolo3_darknet53_voc: 200 epochs, batch 64, lr 0.001,
# 4 warmup epochs). Linear warmup over the first `warmup_epochs` epochs, then cosine
# annealing to `eta_min` at epoch `max_epochs`; both converted to per-iteration updates.
# The two schedulers do not overlap, so this equals
# dict(type='mmext.WarmupCosineLR', warmup=warmup_epochs, end=max_epochs, ...).
max_epochs = 200
warmup_epochs = 4
warmup_start_factor = 0.001
eta_min = 0.0

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=warmup_start_factor,
        begin=0,
        end=warmup_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=eta_min,
        begin=warmup_epochs,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0005),
    clip_grad=dict(max_norm=35, norm_type=2),
)

# base_batch_size = (8 GPUs) x (8 samples per GPU)
auto_scale_lr = dict(base_batch_size=64)
