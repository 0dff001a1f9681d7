# Offline counterpart of Stochastic TCE (Algorithm 1) with t = 1: one class per batch, drawn
# from the weights that mmext.TiltedClassHook updates from the decode head's CE.
_base_ = ['./deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
tilt = 1.0
gamma = 0.1
class_prior = 'uniform'
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
