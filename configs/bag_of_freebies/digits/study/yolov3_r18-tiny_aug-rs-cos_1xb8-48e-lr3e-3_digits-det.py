# Study arm `+ cosine` (tools/studies/freebies_yolo_digits.py, Table 2, stacked): + random
# shapes with the same 1-epoch warm-up, then cosine annealing to 0 at the last of the 48
# epochs (mmext.WarmupCosineLR, Sec. 3.4).
_base_ = './yolov3_r18-tiny_aug-rs_1xb8-48e-lr3e-3_digits-det.py'
param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=_base_.param_scheduler[0].end,
        begin=0,
        end=_base_.train_cfg.max_epochs,
        warmup_start_factor=0.01,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True,
    )
]
