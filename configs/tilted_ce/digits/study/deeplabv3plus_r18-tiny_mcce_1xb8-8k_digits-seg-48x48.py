# Study arm `CE` of the stage `length-8k` (tools/studies/tce_digits.py, length_stage()):
# The CE baseline at 8,000 iterations, the schedule that failed the schedule-length check
# and moved the study to 16,000 (its 2x run is the study's CE leaf at 16,000: the same
# merged config).
_base_ = ['./deeplabv3plus_r18-tiny_mcce_1xb8-16k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
__iters = 8000
__val_points = 4
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_iters=__iters, val_interval=__iters // __val_points)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=__iters)]
default_hooks = dict(checkpoint=dict(interval=__iters))
