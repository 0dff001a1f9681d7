# Bag of Freebies, Table 3 "baseline": mmdet's Faster R-CNN R50-FPN on Pascal VOC 07+12
# unchanged (shorter side 600, longer side <= 1000, horizontal flip with probability 0.5,
# 4 epochs over the 3x repeated data, step decay, batch 8 x 2). The following configs add the
# freebies one at a time.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

image_scale = (1000, 600)
