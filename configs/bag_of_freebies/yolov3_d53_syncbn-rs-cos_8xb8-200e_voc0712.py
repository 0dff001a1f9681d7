# Bag of Freebies, Table 2 "+ cosine lr schedule" (section 3.4, Fig. 6): the step decay is
# replaced by cosine annealing to 0; the 4-epoch linear warmup of the baseline is kept
# (mmext.WarmupCosineLR = mmengine LinearLR + CosineAnnealingLR with these values, tested).
_base_ = './yolov3_d53_syncbn-rs_8xb8-200e_voc0712.py'

eta_min = 0.0

param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=_base_.warmup_epochs,
        warmup_start_factor=0.001,
        eta_min=eta_min,
        begin=0,
        end=_base_.max_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    )
]
