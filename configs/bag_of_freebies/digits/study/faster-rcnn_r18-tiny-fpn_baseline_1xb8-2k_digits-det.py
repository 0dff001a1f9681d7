# Study arm `baseline (step)` (tools/studies/freebies_frcnn_digits.py, Table 3):
# the tiny Faster R-CNN + FPN from scratch, step schedule (x0.1 at 1,400 and 1,800 of 2,000
# iterations), no label smoothing, no mixup.
_base_ = './_base_/faster-rcnn_r18-tiny-fpn_baseline_1xb8-2k_digits-det.py'
