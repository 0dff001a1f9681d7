"""mmext: training techniques of four papers as OpenMMLab registered modules.

Importing mmext (``custom_imports=dict(imports=['mmext'])``) applies the torch >= 2.6
checkpoint compatibility shim (:mod:`mmext.utils.compat`) and registers every mmext module in
the registries of :mod:`mmext.registry`.
"""

from . import (  # noqa: F401  (registration)
    datasets,
    engine,
    evaluation,
    models,
    registry,  # noqa: F401
)
from .utils import compat  # noqa: F401  (checkpoint loading on torch >= 2.6)
from .version import __version__

__all__ = ['__version__']
