"""mmext's backbones (registered in :data:`mmext.registry.MODELS`)."""

from .cifar_resnet import CIFARResNet
from .lenet_plus_plus import LeNetPlusPlus

__all__ = ['CIFARResNet', 'LeNetPlusPlus']
