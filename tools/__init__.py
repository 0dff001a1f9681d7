"""mmext's command-line tools, a package run from the repository root.

``python tools/train.py`` / ``tools/test.py`` stay scripts (as in every OpenMMLab
repository; they import only the installed ``mmext``); the studies run as modules:
``python -m tools.studies.<study>``. A script that imports ``tools.*`` and is also run by its
path (``python tools/analysis/claim_resolution.py``) puts the root on ``sys.path`` through
``tools/_bootstrap.py``, the one place that edits it; everything takes :data:`REPO` from here.
"""

import os.path as osp

#: the repository root (the folder holding ``tools/``, ``configs/`` and ``mmext/``)
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
