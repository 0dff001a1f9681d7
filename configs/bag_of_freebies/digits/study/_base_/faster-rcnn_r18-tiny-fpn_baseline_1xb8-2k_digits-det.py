# Bag of Freebies Table 3 digits study (tools/studies/freebies_frcnn_digits.py): the data
# and schedule every arm trains, on the digits baseline tiny Faster R-CNN + FPN (step
# schedule: 100-iteration linear warm-up, x0.1 at 70 % and 90 %). The study trains 2x the
# configs' 1,000 iterations (2,000, steps at 1,400 and 1,800; see
# tools/studies/settings/freebies_digits.py), validated at 4 points, validation records
# logged by iteration, checkpoint at the end; no visualisation drawing, data loaded in the
# main process (2 CPU cores).
#
# As in configs/balance_batch/digits/study/_base_/: the study's variables have two leading
# underscores (mmengine leaves such names out of the resolved config) and the variables
# inherited from the digits configs (max_iters, lr_steps) keep their 1,000-iteration
# values, so that every leaf resolves to exactly the config its arm trained when the study
# spelled these settings as --cfg-options (the run cache's key). What trains is set in the
# fields below (train_cfg, param_scheduler).
_base_ = '../../faster-rcnn_r18-tiny-fpn_baseline_1xb8-1k_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
__iters = 2000
__steps = [1400, 1800]  # x0.1 at 70 % and 90 % of the iterations
__val_points = 4
# ----------------------------------------------------------------------------------------

train_dataloader = dict(num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
train_cfg = dict(max_iters=__iters, val_interval=__iters // __val_points)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
default_hooks = dict(
    checkpoint=dict(interval=__iters),
    # validation records stepped by iteration (the LoggerHook logs them by epoch, i.e. all
    # at step 0 in an iteration-based loop)
    logger=dict(interval=50, log_metric_by_epoch=False),
    visualization=dict(draw=False),
)
