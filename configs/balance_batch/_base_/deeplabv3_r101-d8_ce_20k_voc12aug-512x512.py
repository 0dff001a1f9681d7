# Balance-batch, section III: DeepLab with ResNet-101 on augmented PASCAL VOC 2012
# (10,582 training images, mmseg's ConcatDataset of train + aug), cross-entropy loss,
# lr 2.5e-4, momentum 0.9, weight decay 5e-4, 20,000 iterations on one GPU, a checkpoint
# (and a validation) every 5,000 iterations; FWIoU / MA / PA / mIoU from
# mmext.FairIoUMetric (fwIoU / mAcc / aAcc / mIoU). Shared by the CE leaf configs and the
# Soft IoU / Soft Dice bases. Deviations from the paper: see ../README.md.
_base_ = ['mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-20k_voc12aug-512x512.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
lr = 2.5e-4
max_iters = 20000
checkpoint_interval = 5000
# Balance-batch makes batches of a single image whenever one image already holds
# batch_cl classes; BN after the ASPP image pooling (1x1 maps) cannot train on one image,
# so the head normalises with GroupNorm (in every config, baselines included).
head_norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
# ----------------------------------------------------------------------------------------

model = dict(
    decode_head=dict(norm_cfg=head_norm_cfg), auxiliary_head=None
)  # the paper's DeepLab has no auxiliary FCN head
optim_wrapper = dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=checkpoint_interval)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook', interval=checkpoint_interval))
train_dataloader = dict(batch_size=9)
val_evaluator = dict(type='mmext.FairIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
