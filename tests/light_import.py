"""Import single mmext modules without running ``mmext/__init__.py``.

``import mmext`` loads mmdet, mmseg and mmpretrain (several seconds per process). The
torchrun workers of the distributed tests need only a sampler or a hook module, so they
register empty package modules for mmext's packages on the way (pointing at their folders)
and import just the modules they use.
"""

import importlib
import os.path as osp
import sys
import types
from typing import List

MMEXT_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'mmext')


def import_light(*modules: str) -> List[types.ModuleType]:
    """Import ``modules`` (e.g. ``'mmext.datasets.samplers.tilted_class_sampler'``) with
    every mmext package above them stubbed (unless already imported).

    Args:
        *modules (str): Dotted module names under ``mmext``.

    Returns:
        List[types.ModuleType]: The imported modules, in order.
    """
    for module in modules:
        parts = module.split('.')
        for depth in range(1, len(parts)):
            name = '.'.join(parts[:depth])
            if name not in sys.modules:
                package = types.ModuleType(name)
                package.__path__ = [osp.join(MMEXT_ROOT, *parts[1:depth])]
                sys.modules[name] = package
    return [importlib.import_module(module) for module in modules]
