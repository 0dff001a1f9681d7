"""Configs of a study's arms: resolved, with ``--cfg-options`` applied as ``tools/train.py``
applies them, digested into the runs' cache key (:func:`run_key`), and their datasets built."""

import argparse
import hashlib
import json
import os
import os.path as osp
from typing import Sequence

from tools import REPO


def config_digest(config: str) -> str:
    """SHA-1 of a config resolved with all its bases (mmengine ``Config.fromfile``)."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(REPO, config))
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()


def run_key(digest: str, options: Sequence[str], seed: int) -> str:
    """Cache key of one run: resolved config, every option in order, seed."""
    text = json.dumps(dict(config=digest, options=list(options), seed=seed), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def parse_options(options: Sequence[str]) -> dict:
    """``--cfg-options`` strings parsed exactly as ``tools/train.py`` parses them."""
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--cfg-options', *options] if options else []).cfg_options


def load_config(config: str, options: Sequence[str] = ()):
    """A config (path relative to the repository) with ``--cfg-options`` applied."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict(parse_options(options))
    return cfg


def build_datasets(
    config: str, options: Sequence[str] = (), splits: Sequence[str] = ('train', 'val')
) -> None:
    """Build a config's datasets once in this process (offline digits data is generated on
    first use), so that parallel runs never race to generate the same files."""
    from mmengine.registry import DATASETS, init_default_scope

    cfg = load_config(config, options)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    cwd = os.getcwd()
    os.chdir(REPO)  # data roots in configs are relative to the working directory
    try:
        for split in splits:
            DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    finally:
        os.chdir(cwd)
