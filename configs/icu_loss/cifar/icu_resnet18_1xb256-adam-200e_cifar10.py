# ICU loss (Zhu & Yu), Table 1 "CIFAR-10", row ICU: ResNet-18 (CIFAR stem), Adam lr 0.01,
# weight decay 1e-3, batch 256 (section 4.1). The paper gives no epoch count: mmpretrain's
# CIFAR schedule (200 epochs, lr x0.1 at 100 and 150) is kept.
_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']

# --- tunable ---------------------------------------------------------------------------
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
lr = 0.01
weight_decay = 1e-3
batch_size = 256
# ----------------------------------------------------------------------------------------

custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

model = dict(
    head=dict(
        _delete_=True,
        type='mmext.ICUClsHead',
        num_classes=10,
        in_channels=512,
        alpha=alpha,
        gamma=gamma,
        lambda_mu=lambda_mu,
        lambda_sigma=lambda_sigma,
    )
)

train_dataloader = dict(batch_size=batch_size)
# no weight decay on the Gaussian parameters: the Gaussian cross-entropy is invariant to
# rescaling features, means and sigma jointly, so nothing would resist the shrinkage
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'.means': dict(decay_mult=0.0), '.log_vars': dict(decay_mult=0.0)}
    ),
    optimizer=dict(_delete_=True, type='Adam', lr=lr, weight_decay=weight_decay),
)
auto_scale_lr = dict(base_batch_size=batch_size)
