# Study arm `500 images, 72 epochs` (tools/studies/pilots/freebies_yolo_small_pilot.py; a
# pilot, no paper row): the small-setting baseline on the first 500 of the 1,000 train
# images for the same 72 epochs (4,500 iterations).
_base_ = './yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64.py'
# --- tunable ---------------------------------------------------------------------------
__num_train = 500
# ----------------------------------------------------------------------------------------
train_dataloader = dict(dataset=dict(indices=__num_train))
