# Study arm `TCE class t=0 (2x schedule)` (tools/studies/tce_digits.py):
# The schedule-length check of the `TCE class t=0` baseline: the same arm at twice the
# study's 16,000 iterations (validation at 4 points, the poly decay ending at 32,000).
_base_ = ['./deeplabv3plus_r18-tiny_tce-cls-t0_1xb8-16k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
__iters = 32000
__val_points = 4
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_iters=__iters, val_interval=__iters // __val_points)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=__iters)]
default_hooks = dict(checkpoint=dict(interval=__iters))
