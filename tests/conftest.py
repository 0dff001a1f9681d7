"""Session-wide test settings.

mmengine resolves a config's ``mmdet::`` / ``mmseg::`` / ``mmpretrain::`` base by parsing
that package's whole model index (``.mim/model-index.yml`` and every ``metafile.yml`` it
lists: hundreds of YAML files, ~0.5 s) on every ``Config.fromfile``, and the config tests load
hundreds of such configs. The parsed metafiles are kept for the session here (installed
files do not change during it); configs still resolve through mmengine's own code.
"""

import functools

import mmengine.config.utils as config_utils

_load = config_utils.load


@functools.lru_cache(maxsize=None)
def _parsed_metafile(path: str):
    return _load(path)


def _load_metafiles_once(file, *args, **kwargs):
    """``mmengine.fileio.load`` as mmengine's config utils call it, YAML files parsed once
    (mmengine only reads the parsed metafiles)."""
    if isinstance(file, str) and file.endswith('.yml') and not args and not kwargs:
        return _parsed_metafile(file)
    return _load(file, *args, **kwargs)


config_utils.load = _load_metafiles_once


def pytest_configure(config):
    """Register the ``slow`` marker; without ``-m`` the run deselects it (``-m slow`` runs
    only the slow tests, ``-m 'slow or not slow'`` everything)."""
    config.addinivalue_line(
        'markers', 'slow: long tests outside the default run (e.g. every config dry run)'
    )
    if not config.option.markexpr:
        config.option.markexpr = 'not slow'
