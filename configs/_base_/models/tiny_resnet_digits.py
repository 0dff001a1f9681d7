# A narrow ResNet-18 (CIFAR stem: 3x3 conv, no max-pool) for the 28x28 digits
# classification dataset.
_base_ = ['mmpretrain::_base_/models/resnet18_cifar.py']

# --- tunable ---------------------------------------------------------------------------
width = 16  # channels of the first residual stage (ResNet-18 uses 64)
num_classes = 10
# ----------------------------------------------------------------------------------------

model = dict(
    backbone=dict(stem_channels=width, base_channels=width),
    head=dict(num_classes=num_classes, in_channels=8 * width),
)
