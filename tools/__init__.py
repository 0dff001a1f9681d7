"""mmext's command-line tools, a package run from the repository root.

``python tools/train.py`` / ``tools/test.py`` stay scripts (as in every OpenMMLab
repository); the studies run as modules: ``python -m tools.studies.<study>``.
"""

import os.path as osp

#: the repository root (the folder holding ``tools/``, ``configs/`` and ``mmext/``)
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
