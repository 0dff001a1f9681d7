# Study arm `lr 0.001, 48 epochs` (tools/studies/pilots/freebies_yolo_lr_pilot.py; a pilot, no
# paper row): ./yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py at lr 0.001.
_base_ = './yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
__lr = 0.001
# ----------------------------------------------------------------------------------------
optim_wrapper = dict(optimizer=dict(lr=__lr))
