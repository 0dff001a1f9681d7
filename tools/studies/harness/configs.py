"""Configs of a study's arms: resolved, with ``--cfg-options`` applied as ``tools/train.py``
applies them, digested into the runs' cache key (:func:`resolved_key`), and their datasets
built.

The cache key is a digest of what a run trains, the fully merged config (bases, the arm's
options and the seed applied), not of how the study spells it: an arm whose options move
into a leaf config, or a schedule written as a 2x length-check run, keeps its key.
:func:`run_key` is the key of caches written before (config digest, option strings, seed),
kept so that such caches are found (:class:`~.cache.RunCache`).
"""

import argparse
import copy
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

from tools import REPO


def config_digest(config: str) -> str:
    """SHA-1 of a config resolved with all its bases (mmengine ``Config.fromfile``)."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(REPO, config))
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()


def run_key(digest: str, options: Sequence[str], seed: int) -> str:
    """The former cache key of one run (config digest, every option in order, seed).

    Caches written before the key covered the merged config (:func:`resolved_key`) are named
    by it; the runner still finds them (:meth:`~.cache.RunCache.locate`).
    """
    text = json.dumps(dict(config=digest, options=list(options), seed=seed), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def canonical_text(cfg_dict: dict) -> str:
    """A merged config as canonical JSON (sorted keys; tuples and lists alike)."""
    return json.dumps(cfg_dict, sort_keys=True, default=repr)


class ResolvedConfigs:
    """The merged configs of a study's runs and their cache keys, each config loaded once.

    A run's merged config is what ``tools/train.py CONFIG --cfg-options randomness.seed=SEED
    *OPTIONS`` trains: the config with its bases, then the seed, then the options in order.
    """

    def __init__(self) -> None:
        self._merged: Dict[Tuple[str, Tuple[str, ...]], dict] = {}

    def merged(self, config: str, options: Sequence[str], seed: Optional[int] = None) -> dict:
        """The merged config (a plain dict) of ``config`` + ``options`` [+ ``seed``].

        Args:
            config (str): Config path relative to the repository.
            options (Sequence[str]): ``--cfg-options`` strings, in order.
            seed (int, optional): ``randomness.seed``, applied before the options as
                ``tools/train.py`` applies it. Defaults to none (the config's own).

        Returns:
            dict: A fresh copy (the caller may change it).
        """
        options = tuple(options)
        touches_seed = any(o.split('=', 1)[0].startswith('randomness') for o in options)
        if seed is not None and touches_seed:  # the options' order decides: load as given
            return load_config(config, (f'randomness.seed={seed}',) + options).to_dict()
        key = (config, options)
        if key not in self._merged:
            self._merged[key] = load_config(config, options).to_dict()
        cfg = copy.deepcopy(self._merged[key])
        if seed is not None:
            randomness = cfg.get('randomness')
            cfg['randomness'] = dict(randomness or {}, seed=seed)
        return cfg

    def key(self, config: str, options: Sequence[str], seed: int) -> str:
        """:func:`resolved_key` of one run."""
        return digest_key(self.merged(config, options, seed))


def digest_key(cfg_dict: dict) -> str:
    """The 12-hex-digit SHA-1 of a merged config's :func:`canonical_text`."""
    return hashlib.sha1(canonical_text(cfg_dict).encode()).hexdigest()[:12]


def resolved_key(config: str, options: Sequence[str], seed: int) -> str:
    """Cache key of one run: the SHA-1 of its fully merged config (bases, seed, options).

    Two runs that train the same merged config share the key, however their options are
    spelled (a leaf config instead of an option string, 8,000 iterations written directly or
    as a 2x length-check run of 4,000).

    Args:
        config (str): Config path relative to the repository.
        options (Sequence[str]): ``--cfg-options`` strings, in order.
        seed (int): ``randomness.seed``.

    Returns:
        str: 12 hex digits.
    """
    return ResolvedConfigs().key(config, options, seed)


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
