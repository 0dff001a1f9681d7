"""Pilot studies (no claim of a paper): the runs that chose a study's schedule or setting
(``python -m tools.studies.pilots.<pilot>``)."""
