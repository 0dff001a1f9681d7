# Bag of Freebies (COCO, Table 4 path): + warmup and cosine learning rate (section 3.4): linear
# warmup over 2 epochs (GluonCV yolo3_darknet53_coco) then cosine annealing to 0 at epoch 273.
# mmext.WarmupCosineLR equals mmengine LinearLR + CosineAnnealingLR with these values (tested).
_base_ = './yolov3_d53_syncbn-rs_8xb8-273e_coco.py'

warmup_epochs = 2
eta_min = 0.0

param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=warmup_epochs,
        warmup_start_factor=0.001,
        eta_min=eta_min,
        begin=0,
        end=_base_.max_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    )
]
