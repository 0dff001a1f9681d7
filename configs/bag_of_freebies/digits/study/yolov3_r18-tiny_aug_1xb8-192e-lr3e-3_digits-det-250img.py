# Study arm `baseline, 250 images` (tools/studies/freebies_mixup_digits.py, reduced data; no
# paper row): Table 2's augmented baseline on the first 250 of the 1,000 train images for the
# same iterations: 4x the epochs (192 of 32 iterations, 6,144 iterations against 6,000), the
# warm-up, the x0.1 steps and the validation points at the same iterations (x4 in epochs).
_base_ = './yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__num_train = 250
__factor = 4  # epochs on 250 images per epoch on 1,000: round(125 / 32)
__epochs = 48 * __factor
__warmup = 1 * __factor
__steps = [36 * __factor, 42 * __factor]
__val_every = 6 * __factor
# ----------------------------------------------------------------------------------------
train_dataloader = dict(dataset=dict(indices=__num_train))
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=__warmup),
    dict(_base_.param_scheduler[1], milestones=__steps),
]
default_hooks = dict(checkpoint=dict(interval=__epochs))
