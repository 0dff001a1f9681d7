# Offline counterpart of TCE (Eq. 3, class level) with t = 1 as the decode head's loss.
_base_ = ['./deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
tilt = 1.0
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
