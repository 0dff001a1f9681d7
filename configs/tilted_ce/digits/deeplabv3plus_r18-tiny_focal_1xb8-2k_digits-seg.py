# Offline counterpart of the "Focal loss" row (TCE paper, Tables 1/3): the digits MCCE config
# with the sigmoid focal loss, gamma = 2 and alpha = the normalised inverse class pixel
# frequency of the digits train split (Sec. 3). It uses mmext.SegFocalLoss, not mmseg's
# FocalLoss(use_sigmoid=True): mmseg 1.2.2's CPU branch one-hot encodes the labels and keeps
# the column [:, num_classes] instead of [:, :num_classes], so it fails on CPU with a shape
# error; SegFocalLoss computes the maths and normalisation of mmseg's CUDA path on any device.
# alpha comes from ../_base_/focal_alpha_digits-seg.py (the digits train
# split; committed, since the digits data are generated deterministically), written by
#   python tools/analysis/class_pixel_frequency.py configs/tilted_ce/digits/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py \
#       --out-base configs/tilted_ce/_base_/focal_alpha_digits-seg.py
# (loading this config before that file exists fails with FileNotFoundError naming it).
# To train with another alpha on purpose, set `focal_alpha` below to a float or a list of
# 11 floats (that is not the paper's setting).
_base_ = [
    './deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py',
    '../_base_/focal_alpha_digits-seg.py',
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
            type='mmext.SegFocalLoss',
            gamma=focal_gamma,
            alpha=focal_alpha,
            loss_weight=1.0,
        )
    )
)
