"""Small BN CNN with a low-dimensional feature output for the MNIST experiments of ICU."""

from typing import Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmext.registry import MODELS


@MODELS.register_module()
class LeNetPlusPlus(BaseModule):
    """Conv-BN-PReLU stack, global average pooling, FC layers to a D-dimensional feature.

    The ICU paper (section 4.1) uses, for MNIST, "a 2-D network consisting of four
    convolution layers and two fully connected layers" and "a 100-D network consisting of
    five convolution layers and a FC layer", with batch normalisation; the exact widths are
    not given. Defaults give the 2-D network: 4 convs (32, 32, 64, 64), 2x2 max-pooling
    after every second conv, then FC 64→128 (BN, PReLU) and FC 128→2. The 100-D network is
    ``conv_channels=(32, 32, 64, 64, 128), fc_channels=(), out_channels=100``. The last FC
    has no activation: the features live in R^D, where the Gaussians of the ICU head sit.

    Args:
        in_channels (int): Image channels. Defaults to 1.
        conv_channels (Sequence[int]): Output channels of the 3x3 convs.
        fc_channels (Sequence[int]): Hidden FC widths (each followed by BN1d + PReLU).
        out_channels (int): Feature dimension D. Defaults to 2.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(
        self,
        in_channels: int = 1,
        conv_channels: Sequence[int] = (32, 32, 64, 64),
        fc_channels: Sequence[int] = (128,),
        out_channels: int = 2,
        init_cfg=(
            dict(type='Kaiming', layer=['Conv2d', 'Linear']),
            dict(type='Constant', val=1, layer=['_BatchNorm']),
        ),
    ) -> None:
        super().__init__(init_cfg=list(init_cfg) if init_cfg is not None else None)
        if not conv_channels or out_channels < 1:
            raise ValueError('LeNetPlusPlus needs at least one conv and out_channels >= 1')
        layers = []
        last = in_channels
        for i, ch in enumerate(conv_channels):
            layers += [
                nn.Conv2d(last, ch, 3, padding=1, bias=False),
                nn.BatchNorm2d(ch),
                nn.PReLU(ch),
            ]
            if i % 2 == 1:
                layers.append(nn.MaxPool2d(2))
            last = ch
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.convs = nn.Sequential(*layers)
        fcs = []
        for width in fc_channels:
            fcs += [nn.Linear(last, width, bias=False), nn.BatchNorm1d(width), nn.PReLU(width)]
            last = width
        fcs.append(nn.Linear(last, out_channels))
        self.fcs = nn.Sequential(*fcs)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Images (N, C, H, W) -> ``(features (N, D),)``."""
        return (self.fcs(self.convs(x).flatten(1)),)
