"""Old path (cited by the published results) of the module run below."""

from _moved import run_module

run_module('tools.studies.freebies_pretrain_yolo_digits')
