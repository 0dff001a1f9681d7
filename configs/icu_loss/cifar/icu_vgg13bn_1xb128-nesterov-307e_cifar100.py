# ICU loss (Zhu & Yu), Table 1 "CIFAR-100" and Table 3 "CIFAR-100" row "ICU loss + alpha +
# gamma": VGG-13 (BN) "with the same settings as L-GM [12]" (section 4.1). L-GM's CIFAR-100
# solver (WeitaoVan/L-GM-loss, examples/cifar100/simple/solver.prototxt): Nesterov SGD,
# lr 0.1, momentum 0.9, weight decay 5e-4, batch 128, 120k iterations with lr x0.1 at 60k
# and 90k, i.e. ~307 epochs of 391 iterations with steps at epochs 154 and 230.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

# --- tunable ---------------------------------------------------------------------------
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
batch_size = 128
max_epochs = 307
milestones = [154, 230]
grad_max_norm = 5.0
# ----------------------------------------------------------------------------------------

custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

model = dict(
    type='ImageClassifier',
    # 32x32 input: after the 5 max-pools of VGG-13 the feature map is 512 x 1 x 1
    backbone=dict(type='VGG', depth=13, norm_cfg=dict(type='BN'), num_classes=-1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='mmext.ICUClsHead',
        num_classes=100,
        in_channels=512,
        alpha=alpha,
        gamma=gamma,
        lambda_mu=lambda_mu,
        lambda_sigma=lambda_sigma,
        topk=(1, 5),
    ),
)

train_dataloader = dict(batch_size=batch_size)
val_dataloader = dict(batch_size=100)
test_dataloader = val_dataloader
# Not in the paper: gradient clipping (added when the head's default was Eq. 14's sum
# scale). With Eq. 14 at its sum scale on 512-d VGG features,
# SGD at lr 0.1 diverged within the first iterations of a short synthetic-data check; the
# softmax baseline inherits the same optimiser.
# no weight decay on the Gaussian parameters: the Gaussian cross-entropy is invariant to
# rescaling features, means and sigma jointly, so nothing would resist the shrinkage
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'.means': dict(decay_mult=0.0), '.log_vars': dict(decay_mult=0.0)}
    ),
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True),
    clip_grad=dict(max_norm=grad_max_norm),
)
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=milestones, gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=batch_size)
