# Bag of Freebies, Table 4 "YOLOv3 Orig" / Table 5 reference: mmdet's YOLOv3 (Darknet-53,
# 416, per-image multi-scale 320-416, BN per GPU, step schedule, 273 epochs, batch 8 x 8)
# unchanged. The following configs add the freebies one at a time.
_base_ = 'mmdet::yolo/yolov3_d53_8xb8-ms-416-273e_coco.py'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

max_epochs = 273
input_size = (416, 416)
