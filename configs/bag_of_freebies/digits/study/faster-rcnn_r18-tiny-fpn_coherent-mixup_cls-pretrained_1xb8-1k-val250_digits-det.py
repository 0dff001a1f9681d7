# Study arm `6 (tiny Faster R-CNN): - pre, + det` (tools/studies/freebies_pretrain_digits.py,
# Table 6 "-Mixup backbone, +Mixup FRCNN"): its 2,000-iteration _base_ leaf at the first Tables 5/6
# schedule, the digits rows' own 1,000 iterations (x0.1 at 700 and 900) validated at 4 points
# (every 250 iterations, hence "-val250": the digits row of the same length is
# ../faster-rcnn_r18-tiny-fpn_coherent-mixup_cls-pretrained_1xb8-1k_digits-det.py).
_base_ = './faster-rcnn_r18-tiny-fpn_coherent-mixup_cls-pretrained_1xb8-2k_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__iters = 1000
__steps = [700, 900]
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_iters=__iters, val_interval=__iters // 4)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
default_hooks = dict(checkpoint=dict(interval=__iters))
