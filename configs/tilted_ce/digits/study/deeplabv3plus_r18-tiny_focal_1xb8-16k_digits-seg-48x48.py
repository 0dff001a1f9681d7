# Study arm `Focal` (tools/studies/tce_digits.py):
# The sigmoid focal loss (mmext.SegFocalLoss, the maths of mmseg's FocalLoss; see
# ../deeplabv3plus_r18-tiny_focal_1xb8-2k_digits-seg.py), gamma 2, alpha the normalised
# inverse class pixel frequency of the study's own 48x48 train split (data/digits_seg48).
# That alpha is written here, rounded to 6 decimals, from the key focal_alpha of
# data/digits_seg48/class_pixel_frequency.json, which the study's prepare() wrote (until
# this value was committed) with
#   python tools/analysis/class_pixel_frequency.py \
#       configs/tilted_ce/digits/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py \
#       --out data/digits_seg48/class_pixel_frequency.json --num-workers 2 --cfg-options \
#       'model.data_preprocessor.size=(48,48)' \
#       train_dataloader.dataset.data_root=data/digits_seg48 \
#       train_dataloader.dataset.build_cfg.canvas_size=48 \
#       'train_dataloader.dataset.build_cfg.digit_size=[15,24]' \
#       val_dataloader.dataset.data_root=data/digits_seg48 \
#       val_dataloader.dataset.build_cfg.canvas_size=48 \
#       'val_dataloader.dataset.build_cfg.digit_size=[15,24]'
# It is a tunable of this leaf, not a _base_ file of its own: the resolved config has no
# key for it (a new top-level name would change the config this arm trained, and mmengine
# neither passes a double-underscore name of a base on nor allows a key in two sibling
# bases). The top-level focal_alpha / focal_alpha_classes stay those of the 64x64 digits
# data (../../_base_/focal_alpha_digits-seg.py), as in the config this arm trained; the loss
# below does not read them.
_base_ = [
    './deeplabv3plus_r18-tiny_mcce_1xb8-16k_digits-seg-48x48.py',
    '../../_base_/focal_alpha_digits-seg.py',
]

# --- tunable ---------------------------------------------------------------------------
focal_gamma = 2.0
# classes: background, 0, 1, ..., 9
__focal_alpha = [
    0.001002,
    0.018168,
    0.051731,
    0.034041,
    0.04666,
    0.070336,
    0.082352,
    0.111288,
    0.166219,
    0.157386,
    0.260816,
]
# ----------------------------------------------------------------------------------------
focal_alpha = _base_.focal_alpha  # the 64x64 data's (as the trained config had it)

model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True,
            type='mmext.SegFocalLoss',
            gamma=focal_gamma,
            alpha=__focal_alpha,
            loss_weight=1.0,
        )
    )
)
