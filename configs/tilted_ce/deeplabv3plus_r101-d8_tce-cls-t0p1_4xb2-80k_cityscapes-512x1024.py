# TCE paper, Eq. 3 (class level) tilted cross-entropy with t = 0.1 as the decode head's loss: the
# direct (non-stochastic) TCE of Sec. 2.1, "TCE t = .1" with the loss plugged in. The auxiliary
# FCN head of mmseg's DeepLabV3+ keeps its CE (weight 0.4).
_base_ = ['./deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
tilt = 0.1
level = 'class'
# ----------------------------------------------------------------------------------------

model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True,
            type='mmext.TiltedCrossEntropyLoss',
            tilt=tilt,
            level=level,
            loss_weight=1.0,
        )
    )
)
