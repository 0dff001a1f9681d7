# Each module family registers itself on import; add its import here.
from .cifar_resnet import CIFARResNet  # noqa: F401  (ICU loss, long-tailed CIFAR)
from .lenet_plus_plus import LeNetPlusPlus  # noqa: F401  (ICU loss, MNIST)
