# Study arm `- data augmentation` (tools/studies/freebies_yolo_digits.py, Table 2): the tiny
# YOLOv3 from scratch without augmentation, step schedule (x0.1 at epochs 36 and 42 of 48),
# lr 0.003.
_base_ = './_base_/yolov3_r18-tiny_baseline_1xb8-48e-lr3e-3_digits-det.py'
