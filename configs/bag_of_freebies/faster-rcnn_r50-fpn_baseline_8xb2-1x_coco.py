# Bag of Freebies, Table 4 "Faster-RCNN R50 Orig": mmdet's Faster R-CNN R50-FPN 1x on COCO
# unchanged (800 x 1333, flip, step decay at epochs 8 and 11, batch 8 x 2).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

max_epochs = 12
image_scale = (1333, 800)
