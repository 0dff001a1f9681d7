# TCE paper, Algorithm 1 (Stochastic TCE) with t = 1.0 in the per-class reading of L_B (an
# option; the documented reading is ./deeplabv3plus_r101-d8_stce-t1_4xb2-80k_cityscapes-512x1024.py):
# Sec. 2.1 "drops the superscript" of Eqs. 2/3 and indexes L~ by class, so L_B may be the CE
# of the drawn class's own pixels in the batch. mmext.ClassTrackedCrossEntropyLoss trains
# exactly as mmseg's CE and records the per-class CE that mmext.TiltedClassHook reads.
_base_ = ['./deeplabv3plus_r101-d8_stce-t1_4xb2-80k_cityscapes-512x1024.py']
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
