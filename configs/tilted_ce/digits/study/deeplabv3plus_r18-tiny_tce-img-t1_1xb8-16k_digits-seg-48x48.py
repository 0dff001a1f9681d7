# Study arm `TCE image t=1` (tools/studies/tce_digits.py):
# TCE (Eq. 2, image level) with t = 1 used directly as the decode head's loss
# (mmext.TiltedCrossEntropyLoss; an extension beyond the paper's tables).
_base_ = ['./deeplabv3plus_r18-tiny_mcce_1xb8-16k_digits-seg-48x48.py']

# --- tunable ---------------------------------------------------------------------------
tilt = 1.0
level = 'image'
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
