# Bag of Freebies, Table 2 "+ synchronize BN" (section 3.5): BatchNorm statistics computed over
# the whole 8 x 8 batch instead of per GPU. mmengine's Runner converts every BatchNorm layer to
# torch.nn.SyncBatchNorm when training is distributed (single-process runs keep plain BN).
# SyncBatchNorm needs CUDA tensors: with gloo on CPU, torch raises "SyncBatchNorm expected input
# tensor to be on GPU"; use this key for GPU runs only.
_base_ = './yolov3_d53_baseline_8xb8-200e_voc0712.py'

sync_bn = 'torch'
