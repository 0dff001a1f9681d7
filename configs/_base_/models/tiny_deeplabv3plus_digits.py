# DeepLabV3+ with a narrow ResNetV1c-18 (output stride 8) for the 64x64 digits
# segmentation dataset: 11 classes, BN instead of SyncBN (CPU), no pretrained weights,
# ASPP dilations scaled to the 8x8 feature map.
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py']

# --- tunable ---------------------------------------------------------------------------
norm_cfg = dict(type='BN', requires_grad=True)
width = 16  # channels of the first residual stage (ResNet-18 uses 64)
num_classes = 11  # background + digits 0..9
# ----------------------------------------------------------------------------------------

model = dict(
    data_preprocessor=dict(size=(64, 64)),
    pretrained=None,
    backbone=dict(depth=18, stem_channels=width, base_channels=width, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=width * 8,
        channels=4 * width,
        dilations=(1, 2, 4, 6),
        c1_in_channels=width,
        c1_channels=width,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
    ),
    auxiliary_head=dict(
        in_channels=width * 4, channels=2 * width, num_classes=num_classes, norm_cfg=norm_cfg
    ),
)
