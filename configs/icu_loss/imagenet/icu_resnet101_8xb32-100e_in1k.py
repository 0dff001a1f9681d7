# ICU loss (Zhu & Yu), Table 1 "ImageNet", row ICU: ResNet-101 on ILSVRC2012, 8 GPUs,
# batch 256, 100 epochs, SGD lr 0.01 -> 0.001 at epoch 50 -> 0.0001 at epoch 75, weight
# decay 5e-4, no dropout (section 4.1).
_base_ = ['mmpretrain::resnet/resnet101_8xb32_in1k.py']

# --- tunable ---------------------------------------------------------------------------
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
lr = 0.01
weight_decay = 5e-4
grad_max_norm = 5.0
# ----------------------------------------------------------------------------------------

custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

model = dict(
    head=dict(
        _delete_=True,
        type='mmext.ICUClsHead',
        num_classes=1000,
        in_channels=2048,
        alpha=alpha,
        gamma=gamma,
        lambda_mu=lambda_mu,
        lambda_sigma=lambda_sigma,
        topk=(1, 5),
    )
)

# Not in the paper: gradient clipping, as a safeguard for Eq. 14 at its sum scale on 2048-d
# features under SGD (see the CIFAR-100 VGG-13 config); the baseline inherits it.
# no weight decay on the Gaussian parameters: the Gaussian cross-entropy is invariant to
# rescaling features, means and sigma jointly, so nothing would resist the shrinkage
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'.means': dict(decay_mult=0.0), '.log_vars': dict(decay_mult=0.0)}
    ),
    optimizer=dict(lr=lr, weight_decay=weight_decay),
    clip_grad=dict(max_norm=grad_max_norm),
)
param_scheduler = dict(milestones=[50, 75])
train_cfg = dict(max_epochs=100)
