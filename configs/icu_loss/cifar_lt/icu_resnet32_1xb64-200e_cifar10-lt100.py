# ICU loss (Zhu & Yu), Table 2 "CIFAR-10-LT", imbalance ratio 100, row ICU: ResNet-32 (CIFAR,
# 64-d feature) on the long-tailed CIFAR-10 training split (class k keeps
# floor(n_max * ratio^(-k/(K-1))) images, mmext.LongTailSubset); balanced test split.
# Optimiser and schedule of the authors' long-tail config (kratos236/ICU-loss,
# classification/config/CIFAR100_LT/icu_norm_32.yaml): SGD lr 0.02, momentum 0.9, weight
# decay 5e-4, batch 64, 200 epochs, 5 warm-up epochs, lr x0.01 at epochs 120 and 160.
_base_ = [
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

# --- tunable ---------------------------------------------------------------------------
imbalance_ratio = 100
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
batch_size = 64
lr = 0.02
max_epochs = 200
warmup_epochs = 5
# ----------------------------------------------------------------------------------------

custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmext.CIFARResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='mmext.ICUClsHead',
        num_classes=10,
        in_channels=64,
        alpha=alpha,
        gamma=gamma,
        lambda_mu=lambda_mu,
        lambda_sigma=lambda_sigma,
    ),
)

train_dataloader = dict(
    batch_size=batch_size,
    dataset=dict(
        _delete_=True,
        type='mmext.LongTailSubset',
        imbalance_ratio=imbalance_ratio,
        seed=0,
        dataset=dict(
            type='CIFAR10',
            data_root='data/cifar10',
            split='train',
            pipeline={{_base_.train_pipeline}},
        ),
    ),
)
val_dataloader = dict(batch_size=100)
test_dataloader = val_dataloader

# no weight decay on the Gaussian parameters: the Gaussian cross-entropy is invariant to
# rescaling features, means and sigma jointly, so nothing would resist the shrinkage
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'.means': dict(decay_mult=0.0), '.log_vars': dict(decay_mult=0.0)}
    ),
    optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=5e-4),
)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0 / warmup_epochs,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(type='MultiStepLR', by_epoch=True, milestones=[120, 160], gamma=0.01),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=batch_size)
