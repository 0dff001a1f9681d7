"""The harness that runs mmext's studies, one module per role, imports in one direction:

* :mod:`.study`: what a study is (:class:`Study`, :class:`Variant`, :class:`Claim`) and the
  :class:`RunContext` its report callbacks get: pure data;
* :mod:`.configs`: an arm's config resolved (with the seed and ``--quick``'s options), the
  runs' cache key;
* :mod:`.scalars`: what a finished run logged;
* :mod:`.lock`: one harness per study, stopped cleanly by SIGINT / SIGTERM;
* :mod:`.cache`: :class:`RunCache`, the runs' ids and folders, and the finished runs it reuses;
* :mod:`.runner`: :class:`Runner`, every (variant, seed) a ``tools/train.py`` process, cached;
* :mod:`.stats`, :mod:`.curves`, :mod:`.verdicts`, :mod:`.report`: the report;
* :mod:`.cli`: the command line of every study (:func:`main`).

``study`` imports nothing of the harness; ``cache``, ``runner`` and ``report`` import ``study``
(``runner`` builds on ``cache`` and ``lock``); only ``cli`` imports both ``runner`` and
``report``.
"""

from tools.studies.harness.cache import RunCache
from tools.studies.harness.cli import main, parse_args
from tools.studies.harness.configs import build_datasets, config_digest, load_config, run_key
from tools.studies.harness.lock import LOCK_NAME, StudyInterrupted, StudyLock, StudyLocked
from tools.studies.harness.runner import Runner
from tools.studies.harness.scalars import read_scalars
from tools.studies.harness.study import Claim, RunContext, Study, Variant

__all__ = [
    'LOCK_NAME',
    'Claim',
    'RunCache',
    'Runner',
    'RunContext',
    'Study',
    'StudyInterrupted',
    'StudyLock',
    'StudyLocked',
    'Variant',
    'build_datasets',
    'config_digest',
    'load_config',
    'main',
    'parse_args',
    'read_scalars',
    'run_key',
]
