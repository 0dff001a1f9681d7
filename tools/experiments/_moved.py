"""The studies moved to ``tools/studies`` (run as ``python -m tools.studies.<study>``); the old
script paths ``tools/experiments/<study>.py``, cited by the published reports
(``docs/results/*.md``), the README and the model index, stay as wrappers that run them."""

import os.path as osp
import runpy


def run_module(name: str) -> None:
    """Run module ``name`` of the repository as ``python -m name`` would, with this argv."""
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))
    runpy.run_module(name, run_name='__main__', alter_sys=True)
