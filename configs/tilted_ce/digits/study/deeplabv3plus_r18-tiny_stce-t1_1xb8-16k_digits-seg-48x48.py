# Study arm `Stochastic TCE t=1` (tools/studies/tce_digits.py):
# Stochastic TCE (Algorithm 1) with t = 1, L_B the whole batch's CE (the documented
# reading): one digit class per batch drawn from the weights mmext.TiltedClassHook updates
# (gamma 0.1, uniform start); background (class 0) is never drawn.
_base_ = ['./deeplabv3plus_r18-tiny_mcce_1xb8-16k_digits-seg-48x48.py']

# --- tunable ---------------------------------------------------------------------------
tilt = 1.0
gamma = 0.1
class_prior = 'uniform'
__exclude_classes = [0]
# ----------------------------------------------------------------------------------------

train_dataloader = dict(
    batch_sampler=dict(
        type='mmext.TiltedClassSampler',
        ignore_index=255,
        infinite=True,
        exclude_classes=__exclude_classes,
    )
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
