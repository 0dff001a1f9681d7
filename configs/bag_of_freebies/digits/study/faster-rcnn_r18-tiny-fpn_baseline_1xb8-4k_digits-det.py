# Study arm `baseline (step) (2x schedule)` (tools/studies/freebies_frcnn_digits.py, the
# schedule-length check): the baseline at 4,000 iterations, the steps stretched with it.
_base_ = './faster-rcnn_r18-tiny-fpn_baseline_1xb8-2k_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__iters = 4000
__steps = [2800, 3600]
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_iters=__iters, val_interval=__iters // 4)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
default_hooks = dict(checkpoint=dict(interval=__iters))
