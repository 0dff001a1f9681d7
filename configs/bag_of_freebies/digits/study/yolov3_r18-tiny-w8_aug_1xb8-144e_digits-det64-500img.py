# Study arm `500 images, 144 epochs` (tools/studies/pilots/freebies_yolo_small_pilot.py; a
# pilot, no paper row): the 500-image arm trained twice as long (144 epochs = 9,000
# iterations, x0.1 at epochs 108 and 126, validation every 12 epochs), the test of the
# 72-epoch arm's convergence.
_base_ = './yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64-500img.py'
# --- tunable ---------------------------------------------------------------------------
__epochs = 144
__steps = [108, 126]
__val_every = 12
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
default_hooks = dict(checkpoint=dict(interval=__epochs))
