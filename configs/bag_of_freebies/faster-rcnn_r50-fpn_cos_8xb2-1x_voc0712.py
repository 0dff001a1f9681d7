# Bag of Freebies, Table 3 "+ cosine lr schedule" (section 3.4): the step decay (x0.1 after
# epoch 3 of 4) is replaced by cosine annealing to 0, preceded by mmdet's usual 500-iteration
# linear warmup (the two chainable schedulers multiply during the warmup).
_base_ = './faster-rcnn_r50-fpn_baseline_8xb2-1x_voc0712.py'

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
