# ICU digits study (tools/studies/icu_digits.py): the schedule every arm trains, on the
# digits ICU setting (LeNet++ with BN and PReLU, Adam lr 0.01, weight decay 1e-3, the Gaussian
# parameters in their own param group at lr x10 without weight decay). What differs from the
# digits configs, all fixed before the study ran (CPU budget; the study's docstring and
# REFERENCE say why): 1,200 iterations of batch 64 (1,000 of batch 32 there), lr x0.1 at 60 %
# and 90 %, validated at 4 points; LeNet++ narrowed to conv 16/16/32/32 with PyTorch's default
# initialisation (init='pytorch') for every arm; logs by iteration every 50; data loaded in
# the main process (2 CPU cores). The data of each (feature dim, imbalance ratio) setting of
# the study's grid is one file next to this one, on top of it.
#
# The study's variables have two leading underscores: mmengine leaves such names out of the
# resolved config, so every study leaf resolves to exactly the config its arm trained when
# the study spelled these settings as --cfg-options (the run cache's key, a digest of the
# resolved config). For the same reason the variables inherited from the digits configs
# (feat_dim, alpha, gamma, lambda_mu, lambda_sigma, max_iters, val_interval, ...) and
# test_evaluator keep their values: they are not read again once the bases are merged; what
# trains is set in the fields below and in the leaves.
_base_ = ['../../icu_lenetpp-2d_1xb32-1k_digits-cls.py']

# --- tunable ---------------------------------------------------------------------------
__iters = 1200
__val_points = 4
__batch_size = 64
__conv_channels = [16, 16, 32, 32]
# ----------------------------------------------------------------------------------------

model = dict(backbone=dict(conv_channels=__conv_channels, init='pytorch'))
train_dataloader = dict(batch_size=__batch_size, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
train_cfg = dict(max_iters=__iters, val_interval=__iters // __val_points)
param_scheduler = dict(milestones=[int(0.6 * __iters), int(0.9 * __iters)])
default_hooks = dict(
    logger=dict(interval=50, log_metric_by_epoch=False), checkpoint=dict(interval=__iters)
)
