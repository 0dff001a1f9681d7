# Study arm `lr 0.01, 24 epochs` (tools/studies/pilots/freebies_yolo_lr_pilot.py; a pilot, no
# paper row): Table 2's augmented baseline (./yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py)
# at the first studies' 24 epochs and the digits rows' lr 0.01: 1-epoch warm-up, x0.1 at
# epochs 18 and 21 (3/4 and 7/8), validation every 3 epochs.
_base_ = './yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__epochs = 24
__steps = [18, 21]
__val_every = 3
__lr = 0.01
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
optim_wrapper = dict(optimizer=dict(lr=__lr))
default_hooks = dict(checkpoint=dict(interval=__epochs))
