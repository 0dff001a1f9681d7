# TCE paper, Algorithm 1 (Stochastic TCE) with t = 0.1: Table 1/3 row "TCE t = .1".
# Every batch is drawn from the images of one class c ~ w (mmext.TiltedClassSampler); after
# each iteration mmext.TiltedClassHook updates L~_c <- (1-gamma) L~_c + gamma exp(t L_B) and
# w_c = L~_c / sum_l L~_l, L_B being the decode head's MCCE of the batch (Eq. 1). The loss
# itself stays the MCCE. gamma is not given in the paper; 0.1 is our choice.
_base_ = ['./deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
tilt = 0.1
gamma = 0.1
class_prior = 'uniform'  # Algorithm 1; 'image_count' multiplies w by class image counts
# ----------------------------------------------------------------------------------------

train_dataloader = dict(
    batch_sampler=dict(type='mmext.TiltedClassSampler', ignore_index=255, infinite=True)
)
custom_hooks = [
    dict(
        type='mmext.TiltedClassHook',
        tilt=tilt,
        gamma=gamma,
        loss_key='decode.loss_ce',
        class_prior=class_prior,
    )
]
