"""CIFARResNet: the 3-stage ResNets of He et al. (2016, section 4.2)."""

import pytest
import torch
import torch.nn as nn

from mmext.models.backbones import CIFARResNet
from mmext.registry import MODELS


@pytest.mark.parametrize('depth', [20, 32, 44, 56, 110])
def test_depth_and_shapes(depth):
    net = CIFARResNet(depth=depth)
    convs3 = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    # 6n + 2 layers: 6n 3x3 convs in the blocks, the 3x3 stem and the classifier
    assert len(convs3) == depth - 1
    out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 64, 8, 8)
    widths = sorted({m.out_channels for m in convs3})
    assert widths == [16, 32, 64]


def test_resnet32_parameters():
    net = MODELS.build(dict(type='mmext.CIFARResNet', depth=32))
    params = sum(p.numel() for p in net.parameters())
    # He et al. report 0.46M for ResNet-32 (option A shortcuts); the two 1x1 projection
    # shortcuts (16->32, 32->64) with their BN add 16*32 + 2*32 + 32*64 + 2*64 = 2752
    assert abs(params - 2752 - 0.46e6) < 0.01e6


def test_invalid_depth():
    with pytest.raises(KeyError):
        CIFARResNet(depth=18)
