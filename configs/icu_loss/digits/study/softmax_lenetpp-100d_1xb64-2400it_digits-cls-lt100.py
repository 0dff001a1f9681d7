# Study arm `softmax 100-D LT100 (2x schedule)` (tools/studies/icu_digits.py):
# The schedule-length check of the softmax baseline of `100-D LT100`: the same arm at twice the
# study's 1,200 iterations (validation at 4 points, the lr drops at 60 % and 90 % of 2,400).
_base_ = ['./softmax_lenetpp-100d_1xb64-1200it_digits-cls-lt100.py']
# --- tunable ---------------------------------------------------------------------------
__iters = 2400
__val_points = 4
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_iters=__iters, val_interval=__iters // __val_points)
param_scheduler = dict(milestones=[int(0.6 * __iters), int(0.9 * __iters)])
default_hooks = dict(checkpoint=dict(interval=__iters))
