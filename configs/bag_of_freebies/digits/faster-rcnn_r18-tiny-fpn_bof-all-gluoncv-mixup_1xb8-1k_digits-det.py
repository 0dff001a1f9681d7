# Digits Bag of Freebies, Table 3 "+ mixup" as the authors' code does it (GluonCV
# scripts/detection/faster_rcnn/train_faster_rcnn.py with --mixup, and
# gluoncv/model_zoo/rcnn/faster_rcnn/data_parallel.py ForwardBackwardTask): the bof-all row
# (warmup + cosine, label smoothing, coherent mixup) with
# - a fixed even mix, lambda = 0.5 (GluonCV: set_mixup(np.random.uniform, 0.5, 0.5)),
#   not Beta(1.5, 1.5);
# - the whole loss of each image (RPN objectness + box, R-CNN classification + box, negatives
#   included) scaled by its mix ratio (GluonCV: total_loss = rpn_loss * mix_ratio +
#   rcnn_loss * mix_ratio), not only the positive RoIs by their object's weight;
# - mixup switched off for the last 10 % of the iterations (GluonCV --no-mixup-epochs: the
#   last N epochs train unmixed with mix_ratio 1; 10 % as the 20 of 200 epochs of its YOLOv3
#   recipe, since the Faster R-CNN launch values are not in the repository).
_base_ = './faster-rcnn_r18-tiny-fpn_bof-all_1xb8-1k_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
mixup_ratio = 0.5  # GluonCV's fixed even mix
mixup_off_ratio = 0.1  # fraction of the iterations at the end without mixup
# ----------------------------------------------------------------------------------------

model = dict(
    rpn_head=dict(type='mmext.ImageWeightedRPNHead'),
    roi_head=dict(weighting='image'),
)
train_pipeline = [
    dict(type='mmext.CoherentMixUp', ratio=mixup_ratio),
    dict(type='Resize', scale=(_base_.canvas_size, _base_.canvas_size), keep_ratio=True),
    dict(type='mmext.PackDetInputsWithWeights'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='mmext.MixupSwitchOffHook', last_ratio=mixup_off_ratio)]
