"""Old path (cited by the published results) of the module run below."""

from _moved import run_module

run_module('tools.studies.pilots.freebies_yolo_small_pilot')
