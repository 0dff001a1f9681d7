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


def _feature_layer_std(net: LeNetPlusPlus, n: int = 4096) -> float:
    """Std of the last FC's outputs on random unit-variance input of its width."""
    fc = net.fcs[-1]
    with torch.no_grad():
        return float(fc(torch.randn(n, fc.in_features)).std())


def test_default_init_is_pytorch_and_kaiming_is_an_option():
    """The default keeps PyTorch's init (the public reference code's); ``init='kaiming'`` (or
    an explicit ``init_cfg``) gives mmengine's Kaiming fan-out init, whose 2-D features are
    several times wider."""
    torch.manual_seed(0)
    default = MODELS.build(dict(type='mmext.LeNetPlusPlus'))
    default.init_weights()
    assert default.init == 'pytorch' and default.init_cfg is None
    torch.manual_seed(0)
    kaiming = LeNetPlusPlus(init='kaiming')
    kaiming.init_weights()
    torch.manual_seed(0)
    explicit = LeNetPlusPlus(init_cfg=dict(type='Kaiming', layer=['Conv2d', 'Linear']))
    explicit.init_weights()
    # independent computation: a plain nn.Linear of the same shape with torch's default init
    torch.manual_seed(1)
    plain = nn.Linear(128, 2)
    with torch.no_grad():
        expected = float(plain(torch.randn(4096, 128)).std())
    assert _feature_layer_std(default) == pytest.approx(expected, rel=0.35)
    # torch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights, std 1/sqrt(3 fan_in)
    w = default.fcs[-1].weight
    assert w.abs().max() <= 1 / 128**0.5 and float(w.std()) == pytest.approx(
        1 / (3 * 128) ** 0.5, rel=0.35
    )
    # Kaiming fan-out normal: std sqrt(2 / fan_out) = 1 for the 128 -> 2 layer
    assert _feature_layer_std(kaiming) > 8 * _feature_layer_std(default)
    assert float(kaiming.fcs[-1].weight.std()) == pytest.approx(1.0, rel=0.35)
    assert _feature_layer_std(explicit) > 8 * _feature_layer_std(default)
    # the whole default network's 2-D features start well below the Kaiming ones
    default.eval(), kaiming.eval()
    x = torch.randn(64, 1, 28, 28)
    with torch.no_grad():
        assert float(default(x)[0].std()) < 0.5 * float(kaiming(x)[0].std())


def test_init_errors():
    with pytest.raises(ValueError, match="'pytorch' or 'kaiming'"):
        LeNetPlusPlus(init='xavier')
