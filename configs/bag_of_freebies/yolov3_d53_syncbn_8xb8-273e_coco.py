# Bag of Freebies (COCO, Table 4 path): + synchronized BatchNorm (section 3.5). Converted by
# mmengine's Runner in distributed runs; torch's SyncBatchNorm runs on CUDA only.
_base_ = './yolov3_d53_baseline_8xb8-273e_coco.py'

sync_bn = 'torch'
