# Study arm `baseline from scratch, 72 epochs` (tools/studies/pilots/
# freebies_yolo_schedule_pilot.py; a pilot, no paper row): Table 2's augmented baseline
# (./yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py) for 72 epochs at the digits rows'
# lr 0.01: 1-epoch warm-up, x0.1 at epochs 54 and 63 (3/4 and 7/8), validation every 6
# epochs.
_base_ = './yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__epochs = 72
__steps = [54, 63]
__val_every = 6
__lr = 0.01
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
optim_wrapper = dict(optimizer=dict(lr=__lr))
default_hooks = dict(checkpoint=dict(interval=__epochs))
