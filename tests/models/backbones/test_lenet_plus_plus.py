"""LeNetPlusPlus: the paper's 2-D and 100-D MNIST network shapes."""

import pytest
import torch
import torch.nn as nn

from mmext.models.backbones import LeNetPlusPlus
from mmext.registry import MODELS


def _count(module, kind):
    return sum(isinstance(m, kind) for m in module.modules())


@pytest.mark.parametrize('size', [28, 32])
def test_2d_network(size):
    net = MODELS.build(dict(type='mmext.LeNetPlusPlus'))
    out = net(torch.randn(3, 1, size, size))
    assert isinstance(out, tuple) and out[0].shape == (3, 2)
    # section 4.1: four convolution layers and two fully connected layers, with BN
    assert _count(net, nn.Conv2d) == 4 and _count(net, nn.Linear) == 2
    assert _count(net, nn.BatchNorm2d) == 4


def test_100d_network():
    net = LeNetPlusPlus(
        in_channels=3, conv_channels=(32, 32, 64, 64, 128), fc_channels=(), out_channels=100
    )
    assert net(torch.randn(2, 3, 28, 28))[0].shape == (2, 100)
    # five convolution layers and one fully connected layer
    assert _count(net, nn.Conv2d) == 5 and _count(net, nn.Linear) == 1


def test_errors():
    with pytest.raises(ValueError, match='at least one conv'):
        LeNetPlusPlus(conv_channels=())
