# TCE paper, Table 1/3 row "Focal loss": the MCCE config with mmseg's (sigmoid) FocalLoss,
# gamma = 2 and alpha = the normalised inverse class pixel frequency of the training set
# (Sec. 3). mmseg's FocalLoss uses mmcv's CUDA op on GPU; its CPU fallback is not meant for
# training: on CPU, use type='mmext.SegFocalLoss' (same maths, no use_sigmoid) instead.
# alpha comes from ./_base_/focal_alpha_ade20k.py (the ADE20K train split), written by
#   python tools/analysis/class_pixel_frequency.py configs/tilted_ce/deeplabv3plus_r101-d8_mcce_4xb4-160k_ade20k-512x512.py \
#       --out-base configs/tilted_ce/_base_/focal_alpha_ade20k.py
# (loading this config before that file exists fails with FileNotFoundError naming it).
# To train with another alpha on purpose, set `focal_alpha` below to a float or a list of
# 150 floats (that is not the paper's setting).
_base_ = [
    './deeplabv3plus_r101-d8_mcce_4xb4-160k_ade20k-512x512.py',
    './_base_/focal_alpha_ade20k.py',
]
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
focal_gamma = 2.0
focal_alpha = _base_.focal_alpha  # the paper's: normalised inverse class pixel frequency
# ----------------------------------------------------------------------------------------

model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True,
            type='FocalLoss',
            use_sigmoid=True,
            gamma=focal_gamma,
            alpha=focal_alpha,
            loss_weight=1.0,
        )
    )
)
