# CPU-size Faster R-CNN on the offline digits detection data with the ICU Gaussian RoI
# classifier (11 Gaussians: 10 digits + background), paper defaults for alpha, gamma and
# the Eq. 14 weights.
_base_ = ['../../digits/faster-rcnn_r18-tiny-fpn_1xb8-1k_digits-det.py']

# --- tunable ---------------------------------------------------------------------------
alpha = 1e-4  # inter-class margin (Eq. 17)
gamma = 1e-3  # intra-class margin (Eq. 18)
lambda_mu = 0.1  # Eq. 14
lambda_sigma = 0.1  # Eq. 14
regularize_background = True
# ----------------------------------------------------------------------------------------

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
