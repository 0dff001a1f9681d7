# Stochastic TCE (Algorithm 1) with t = 1 in the per-class reading of L_B: the class weights
# are updated from the CE of the drawn class's own pixels in the batch (recorded by
# mmext.ClassTrackedCrossEntropyLoss, which trains exactly as mmseg's CE), not from the whole
# batch's CE (the documented reading, ./deeplabv3plus_r18-tiny_stce-t1_1xb8-2k_digits-seg.py).
_base_ = ['./deeplabv3plus_r18-tiny_stce-t1_1xb8-2k_digits-seg.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
tilt = 1.0
gamma = 0.1
class_prior = 'uniform'
# ----------------------------------------------------------------------------------------

model = dict(decode_head=dict(loss_decode=dict(type='mmext.ClassTrackedCrossEntropyLoss')))
custom_hooks = [
    dict(
        type='mmext.TiltedClassHook',
        tilt=tilt,
        gamma=gamma,
        loss_key='decode.loss_ce',  # used by batch_loss='batch' only
        batch_loss='class',
        class_prior=class_prior,
    )
]
