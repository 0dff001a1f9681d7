# Study arm `Beta(1, 1) weighted` (tools/studies/freebies_mixup_digits.py, Table 1, row
# "beta(1.0, 1.0), weighted loss"): the Beta(1.5, 1.5) arm with lambda ~ Beta(1, 1)
# (uniform), the per-object loss weights kept.
_base_ = './yolov3_r18-tiny_aug-mixup_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__mixup_alpha = 1.0
__mixup_beta = 1.0
# ----------------------------------------------------------------------------------------
# mixup_alpha / mixup_beta (top level) keep 1.5: what trains is the dataset's pipeline
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(_base_.mixup_pipeline[0], alpha=__mixup_alpha, beta=__mixup_beta),
            _base_.mixup_pipeline[1],
        ]
    )
)
