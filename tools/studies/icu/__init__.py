"""The parts of the ICU digits study, :mod:`tools.studies.icu_digits` (the study module, run
as ``python -m tools.studies.icu_digits``), one role per module, imports in one direction:

* :mod:`.settings`: seeds, schedule, grid, every arm's config and options, data options,
  parity pairs and the ``REFERENCE`` block, fixed before running;
* :mod:`.first_run`: the first (confounded) run's published numbers;
* :mod:`.design`: the arms, metrics and claims, the setup text, the data preparation;
* :mod:`.features`: the 2-D features of trained runs and the Fig. 2 style figure;
* :mod:`.parity`: mmext's arms against the reference arms, the claims withheld without
  parity, ``reference_parity.md``;
* :mod:`.sections`: the study's report sections (what moved, shot table, parity, features).

``settings`` and ``first_run`` import nothing of the study; ``sections`` imports the others
but ``design``; only the study module imports ``design`` and ``sections``.
"""
