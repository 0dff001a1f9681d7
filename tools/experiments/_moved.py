"""The studies moved to ``tools/studies`` (run as ``python -m tools.studies.<study>``); the old
script paths ``tools/experiments/<study>.py``, cited by the published reports
(``docs/results/*.md``), the README and the model index, stay as wrappers that run them."""

import os.path as osp
import runpy
import sys


def run_module(name: str) -> None:
    """Run module ``name`` of the repository as ``python -m name`` would, with this argv."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if root not in sys.path:
        sys.path.insert(0, root)
    runpy.run_module(name, run_name='__main__', alter_sys=True)
