"""Import the repo's command-line scripts (``tools/``, ``benchmarks/``) as modules in tests."""

import importlib.util
import os.path as osp
from types import ModuleType

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(relpath: str) -> ModuleType:
    """Execute a script of the repository as a fresh module (its ``main`` is not called).

    Args:
        relpath (str): Path relative to the repository root, e.g.
            ``'tools/analysis/plot_lr_schedule.py'``.

    Returns:
        ModuleType: The module, named after the file.
    """
    path = osp.join(REPO, relpath)
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
