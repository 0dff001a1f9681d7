# Study arm `whole bag, 250 images` (tools/studies/freebies_mixup_digits.py, reduced data; no
# paper row): Table 2's last row "+ mixup" (random shapes, cosine, GluonCV label smoothing,
# weighted coherent mixup) on the first 250 of the 1,000 train images for the same
# iterations: 4x the epochs (192), the warm-up (4 epochs) and the mixup-off period (the last
# 16 epochs) x4 with them, validation every 24 epochs.
_base_ = './yolov3_r18-tiny_aug-rs-cos-ls-mixup_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__num_train = 250
__factor = 4  # epochs on 250 images per epoch on 1,000: round(125 / 32)
__epochs = 48 * __factor
__warmup = 1 * __factor
__mixup_off_epochs = 4 * __factor
__val_every = 6 * __factor
# ----------------------------------------------------------------------------------------
train_dataloader = dict(dataset=dict(dataset=dict(indices=__num_train)))
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [dict(_base_.param_scheduler[0], warmup=__warmup, end=__epochs)]
custom_hooks = [dict(_base_.custom_hooks[0], switch_epoch=__epochs - __mixup_off_epochs)]
default_hooks = dict(checkpoint=dict(interval=__epochs))
