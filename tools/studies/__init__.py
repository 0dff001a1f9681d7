"""mmext's studies: one module per study (``python -m tools.studies.<study>``), the
pilots in :mod:`tools.studies.pilots`, the settings they share in
:mod:`tools.studies.settings` and the harness that runs them in
:mod:`tools.studies.harness`."""
