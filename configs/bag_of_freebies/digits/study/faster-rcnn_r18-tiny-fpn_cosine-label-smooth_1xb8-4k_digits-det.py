# Study arm `+ label smoothing (2x schedule)` (tools/studies/freebies_frcnn_digits.py, the
# schedule-length check): + label smoothing at 4,000 iterations, the cosine stretched.
_base_ = './faster-rcnn_r18-tiny-fpn_cosine-label-smooth_1xb8-2k_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__iters = 4000
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_iters=__iters, val_interval=__iters // 4)
param_scheduler = [dict(_base_.param_scheduler[0], end=__iters)]
default_hooks = dict(checkpoint=dict(interval=__iters))
