# Study arm `5 (tiny YOLOv3): - pre, - det` (tools/studies/freebies_pretrain_digits.py,
# Table 5 "-Mixup darknet, -Mixup YOLO3"): its 48-epoch _base_ leaf at the first Tables 5/6
# schedule: 12 epochs (half the then from-scratch 24, the backbone being pre-trained) at the
# digits rows' lr 0.01, 1-epoch warm-up, x0.1 at epochs 9 and 10 (3/4 and 7/8, rounded),
# validation every 3 epochs.
_base_ = './yolov3_r18-tiny_aug_cls-pretrained_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__epochs = 12
__steps = [9, 10]
__val_every = 3
__lr = 0.01
# ----------------------------------------------------------------------------------------
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
optim_wrapper = dict(optimizer=dict(lr=__lr))
default_hooks = dict(checkpoint=dict(interval=__epochs))
