# ICU loss (Zhu & Yu), Table 1 "MNIST 2-D", row ICU: 6-layer BN CNN (4 conv + 2 FC) with a
# 2-D feature, one diagonal Gaussian per digit, Adam lr 0.01, weight decay 1e-3, batch 128
# (section 4.1). The paper gives no epoch count: 50 epochs, lr x0.1 at 30 and 45.
_base_ = ['mmpretrain::lenet/lenet5_mnist.py']

# --- tunable ---------------------------------------------------------------------------
feat_dim = 2
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
lr = 0.01
weight_decay = 1e-3
max_epochs = 50
milestones = [30, 45]
# ----------------------------------------------------------------------------------------

custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(
        type='mmext.LeNetPlusPlus',
        in_channels=1,
        conv_channels=(32, 32, 64, 64),
        fc_channels=(128,),
        out_channels=feat_dim,
    ),
    neck=None,
    head=dict(
        type='mmext.ICUClsHead',
        num_classes=10,
        in_channels=feat_dim,
        alpha=alpha,
        gamma=gamma,
        lambda_mu=lambda_mu,
        lambda_sigma=lambda_sigma,
    ),
)

# no weight decay on the Gaussian parameters: the Gaussian cross-entropy is invariant to
# rescaling features, means and sigma jointly, so nothing would resist the shrinkage
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'.means': dict(decay_mult=0.0), '.log_vars': dict(decay_mult=0.0)}
    ),
    optimizer=dict(_delete_=True, type='Adam', lr=lr, weight_decay=weight_decay),
)
param_scheduler = dict(milestones=milestones)
train_cfg = dict(max_epochs=max_epochs)
