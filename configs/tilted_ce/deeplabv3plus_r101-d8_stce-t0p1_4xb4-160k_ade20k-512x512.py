# TCE paper, Algorithm 1 (Stochastic TCE) with t = 0.1: Table 1/3 row "TCE t = .1". The t = 1
# config with the tilt changed (sampler, hook, gamma and class prior are inherited).
_base_ = ['./deeplabv3plus_r101-d8_stce-t1_4xb4-160k_ade20k-512x512.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
tilt = 0.1
# ----------------------------------------------------------------------------------------

# a list replaces the base's whole list: the same hook, with this tilt
custom_hooks = [
    dict(
        type='mmext.TiltedClassHook',
        tilt=tilt,
        gamma=_base_.gamma,
        loss_key='decode.loss_ce',
        class_prior=_base_.class_prior,
    )
]
