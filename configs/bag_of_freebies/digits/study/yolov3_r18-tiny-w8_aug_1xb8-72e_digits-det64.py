# Study arm `1000 images, 72 epochs` (tools/studies/pilots/freebies_yolo_small_pilot.py; a
# pilot, no paper row): Table 2's augmented tiny YOLOv3 from scratch in the small setting
# (64x64 canvases, stage width 8, fused AdamW; see the _base_), all 1,000 train images, 72
# epochs (9,000 iterations) at lr 0.01, x0.1 at epochs 54 and 63, validation every 6 epochs.
_base_ = './_base_/yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64.py'
