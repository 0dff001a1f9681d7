"""Shared by the study tests (tests/tools/test_studies_*.py): the config an arm trains."""

import os.path as osp

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def resolved(study, variant, tmp_path):
    """The config an arm trains: its leaf config as it is (no options)."""
    return Config.fromfile(osp.join(REPO, variant.config))
