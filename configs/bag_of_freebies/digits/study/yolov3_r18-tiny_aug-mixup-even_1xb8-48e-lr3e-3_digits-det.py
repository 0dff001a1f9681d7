# Study arm `0.5:0.5 evenly` (tools/studies/freebies_mixup_digits.py, Table 1, row
# "0.5:0.5 evenly"): the Beta(1.5, 1.5) arm with a fixed even mix (every image weighted 0.5)
# and the unweighted mmdet YOLOV3Head (no per-object loss weights).
_base_ = './yolov3_r18-tiny_aug-mixup_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__mixup_ratio = 0.5  # CoherentMixUp's fixed ratio (alpha and beta are then not read)
# ----------------------------------------------------------------------------------------
# mixup_pipeline (top level) keeps the Beta(1.5, 1.5) step: what trains is the dataset's
train_dataloader = dict(
    dataset=dict(
        pipeline=[dict(_base_.mixup_pipeline[0], ratio=__mixup_ratio), _base_.mixup_pipeline[1]]
    )
)
model = dict(bbox_head=dict(type='YOLOV3Head'))
