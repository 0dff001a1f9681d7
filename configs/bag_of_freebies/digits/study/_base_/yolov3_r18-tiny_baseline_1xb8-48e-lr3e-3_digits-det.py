# Bag of Freebies Table 2 digits study (tools/studies/freebies_yolo_digits.py; also Table 1
# + reduced data, tools/studies/freebies_mixup_digits.py): the data and schedule every arm
# trains, on the digits tiny YOLOv3 without augmentation. The study trains the length and
# lr of tools/studies/pilots/freebies_yolo_lr_pilot.py: 48 epochs of the 1,000 train
# images (6,000 iterations) at lr 0.003 (the configs: 8 epochs at 0.01), 1-epoch linear
# warm-up, x0.1 at epochs 36 and 42 (the configs' 6 and 7 of 8), validation every 6
# epochs, checkpoint at the end; no visualisation drawing, data loaded in the main process
# (2 CPU cores).
#
# As in configs/balance_batch/digits/study/_base_/: the study's variables have two leading
# underscores (mmengine leaves such names out of the resolved config) and the variables
# inherited from the digits configs (max_epochs, lr_steps) keep their 8-epoch values, so
# that every leaf resolves to exactly the config its arm trained when the study spelled
# these settings as --cfg-options (the run cache's key). What trains is set in the fields
# below (train_cfg, param_scheduler, optim_wrapper).
_base_ = '../../yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
__epochs = 48
__warmup = 1
__steps = [36, 42]  # x0.1 at 3/4 and 7/8 of the epochs
__val_every = 6
__lr = 0.003
# ----------------------------------------------------------------------------------------

train_dataloader = dict(num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=__warmup),
    dict(_base_.param_scheduler[1], milestones=__steps),
]
optim_wrapper = dict(optimizer=dict(lr=__lr))
default_hooks = dict(
    checkpoint=dict(interval=__epochs), logger=dict(interval=25), visualization=dict(draw=False)
)
