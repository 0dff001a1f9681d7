"""Small BN CNN with a low-dimensional feature output for the MNIST experiments of ICU."""

from typing import Optional, Sequence, Tuple, Union

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

    Initialisation: the paper does not specify one. The default, ``init='pytorch'``, keeps
    PyTorch's own initialisation of every layer (``nn.Conv2d`` / ``nn.Linear``
    ``reset_parameters``: Kaiming-uniform with ``a = sqrt(5)``, i.e. U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) weights; BN weight 1, bias 0), which is what the public PyTorch L-GM /
    LeNet++ code does (it never re-initialises its layers); that is our reading of the
    reference code. ``init='kaiming'`` gives mmengine's Kaiming fan-out normal init of the
    convs and FCs (BN weight 1), this module's former default: its 2-D features start with a
    std of about 5-6 on normalised digits, against Gaussian means drawn from N(0, 1) with unit
    variances in the ICU / L-GM heads. An explicit ``init_cfg`` overrides both.

    Args:
        in_channels (int): Image channels. Defaults to 1.
        conv_channels (Sequence[int]): Output channels of the 3x3 convs.
        fc_channels (Sequence[int]): Hidden FC widths (each followed by BN1d + PReLU).
        out_channels (int): Feature dimension D. Defaults to 2.
        init (str): ``'pytorch'`` (PyTorch's default initialisation, the reading of the public
            reference code) or ``'kaiming'`` (mmengine Kaiming for convs / FCs, constant 1 for
            BN). Ignored when ``init_cfg`` is given. Defaults to ``'pytorch'``.
        init_cfg (dict | list[dict], optional): Explicit mmengine initialisation config; it
            takes precedence over ``init``. Defaults to None.
    """

    #: mmengine init config of ``init='kaiming'`` (the former default)
    KAIMING_INIT = (
        dict(type='Kaiming', layer=['Conv2d', 'Linear']),
        dict(type='Constant', val=1, layer=['_BatchNorm']),
    )

    def __init__(
        self,
        in_channels: int = 1,
        conv_channels: Sequence[int] = (32, 32, 64, 64),
        fc_channels: Sequence[int] = (128,),
        out_channels: int = 2,
        init: str = 'pytorch',
        init_cfg: Optional[Union[dict, Sequence[dict]]] = None,
    ) -> None:
        if init not in ('pytorch', 'kaiming'):
            raise ValueError(f"init must be 'pytorch' or 'kaiming', got {init!r}")
        if init_cfg is None and init == 'kaiming':
            init_cfg = [dict(c) for c in self.KAIMING_INIT]
        elif init_cfg is not None and not isinstance(init_cfg, dict):
            init_cfg = list(init_cfg)
        super().__init__(init_cfg=init_cfg)
        self.init = init
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
