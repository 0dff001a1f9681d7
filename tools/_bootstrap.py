"""Put the repository root on ``sys.path`` for a script run by its path: the one place that does.

Why: ``python tools/analysis/claim_resolution.py`` puts the script's own folder first on
``sys.path``, not the repository root, so ``import tools...`` (or ``benchmarks...``) fails
there. ``python -m tools.analysis.claim_resolution`` from the root, pytest and a plain
``import`` need nothing, and neither does ``import mmext`` (installed: ``pip install -e .``):
scripts that import only mmext (``tools/train.py``, ``tools/test.py``, most of
``tools/analysis`` and ``benchmarks``) do not use this file.

Who: the scripts that import the repository's ``tools`` / ``benchmarks`` modules and are also
run by their path (README, docs and results files cite the paths): ``tools/model_index.py``,
``tools/make_balance_batch_configs.py``, ``tools/analysis/claim_resolution.py``,
``tools/misc/{dry_run,gpu_check}.py``, the old study paths ``tools/experiments/*.py``
(``_moved.py``) and ``benchmarks/yolo_digits_step.py``. Such a file cannot import this one
(its folder is not on ``sys.path``), so it runs it by path, only when it is not run with
``-m`` (no ``__package__``), then takes ``REPO`` from :mod:`tools`::

    if not __package__:  # python tools/<folder>/x.py, not -m: tools/_bootstrap.py
        runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))

    from tools import REPO  # noqa: E402

The root is the folder above ``tools/``, as :data:`tools.REPO`.
"""

import os.path as osp
import sys

_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
