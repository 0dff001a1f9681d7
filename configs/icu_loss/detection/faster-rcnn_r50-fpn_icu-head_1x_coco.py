# Beyond the ICU paper: Faster R-CNN R50-FPN 1x COCO whose RoI classifier is the ICU
# Gaussian classifier (81 diagonal Gaussians, background included; mmext.ICUBBoxHead).
# Everything else is the upstream model, so the upstream training recipe applies unchanged.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']

# --- tunable ---------------------------------------------------------------------------
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
regularize_background = True  # fit the background Gaussian with Eq. 14 as well
# ----------------------------------------------------------------------------------------

custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
# crash-safe checkpoints (temporary file + atomic rename, pruning last)
default_hooks = dict(checkpoint=dict(type='mmext.SafeCheckpointHook'))

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='mmext.ICUBBoxHead',
            lambda_mu=lambda_mu,
            lambda_sigma=lambda_sigma,
            regularize_background=regularize_background,
            loss_cls=dict(
                _delete_=True, type='mmext.ICULoss', alpha=alpha, gamma=gamma, loss_weight=1.0
            ),
        )
    )
)
# no weight decay on the Gaussian parameters: the Gaussian cross-entropy is invariant to
# rescaling features, means and sigma jointly, so nothing would resist the shrinkage
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'.means': dict(decay_mult=0.0), '.log_vars': dict(decay_mult=0.0)}
    )
)
