"""The 3-stage CIFAR ResNets of He et al. (2016, section 4.2), e.g. ResNet-32."""

from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock

from mmext.registry import MODELS


@MODELS.register_module()
class CIFARResNet(ResNet_CIFAR):
    """ResNet-{20, 32, 44, 56, 110} for 32x32 images: 3 stages of (depth - 2) / 6 blocks.

    The long-tailed CIFAR benchmarks (Cui et al. 2019, Cao et al. 2019, and the baseline the
    ICU paper builds on for Table 2) use ResNet-32: a 3x3 stem with 16 channels, three
    stages of five basic blocks with 16/32/64 channels (strides 1/2/2) and a 64-d output.
    mmpretrain's ``ResNet_CIFAR`` only has the 4-stage ImageNet depths; this class adds the
    CIFAR depths on the same implementation. Shortcuts that change shape use mmpretrain's
    1x1 projection (option B of He et al.) instead of zero padding (option A).

    Args:
        depth (int): 20, 32, 44, 56 or 110. Defaults to 32.
        stem_channels (int): Stem width. Defaults to 16.
        base_channels (int): Width of the first stage. Defaults to 16.
        num_stages (int): Defaults to 3.
        strides (tuple[int]): Defaults to ``(1, 2, 2)``.
        dilations (tuple[int]): Defaults to ``(1, 1, 1)``.
        out_indices (tuple[int]): Defaults to ``(2, )``.
        **kwargs: Other ``ResNet_CIFAR`` arguments.
    """

    arch_settings = {
        depth: (BasicBlock, ((depth - 2) // 6,) * 3) for depth in (20, 32, 44, 56, 110)
    }

    def __init__(
        self,
        depth: int = 32,
        stem_channels: int = 16,
        base_channels: int = 16,
        num_stages: int = 3,
        strides: tuple = (1, 2, 2),
        dilations: tuple = (1, 1, 1),
        out_indices: tuple = (2,),
        **kwargs,
    ) -> None:
        super().__init__(
            depth,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            **kwargs,
        )
