"""mmext: training techniques of four papers as OpenMMLab registered modules.

Importing mmext (``custom_imports=dict(imports=['mmext'])``) applies the torch >= 2.6
checkpoint compatibility shim once, here (:func:`mmext.utils.compat.apply_checkpoint_compat`:
torch's weights-only allow-list and mmengine's local checkpoint loader), and registers every
mmext module in the registries of :mod:`mmext.registry`.
"""

from . import (  # noqa: F401  (registration)
    datasets,
    engine,
    evaluation,
    models,
    registry,  # noqa: F401
)
from .utils.compat import apply_checkpoint_compat
from .version import __version__

apply_checkpoint_compat()  # the one place it is applied (checkpoint loading on torch >= 2.6)

__all__ = ['__version__']
