"""Checks the train / test tools run before training starts: nothing passes in silence.

* :func:`check_cfg_options`: a ``--cfg-options`` key whose first part is a top-level variable
  of the config file (``max_iters``, ``lr``: resolved while the file is parsed, so setting it
  changes nothing) or a top-level key that nothing reads, naming the dotted keys to set instead.
* :func:`warn_if_gpus_expected`: one warning when the run falls back to the CPU although GPUs
  were evidently expected (``nvidia-smi`` lists some, ``CUDA_VISIBLE_DEVICES`` names some, slurm
  allocated some); ``--device cpu`` or ``MMEXT_DEVICE=cpu`` states the CPU intent.
* :func:`check_checkpoints`: a checkpoint of another model for ``tools/test.py``, ``load_from``
  or ``--resume CKPT`` (:mod:`mmext.utils.checkpoint_match`); ``--allow-partial`` overrides.
"""

import inspect
import logging
import os
import os.path as osp
from typing import Any, Iterator, List, Mapping, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log

#: top-level config keys read at run time besides ``Runner.__init__``'s arguments (mmengine's
#: Runner and ``Config``, and the train / test tools)
RUNTIME_KEYS = frozenset(
    {
        '_base_',
        'compile',
        'custom_imports',
        'default_scope',
        'find_unused_parameters',
        'launcher',
        'model_wrapper_cfg',
        'runner_type',
        'tta_model',
        'tta_pipeline',
    }
)


def runtime_keys() -> frozenset:
    """Top-level config keys something reads at run time (``Runner.__init__`` + RUNTIME_KEYS)."""
    from mmengine.runner import Runner

    return frozenset(inspect.signature(Runner.__init__).parameters) - {'self'} | RUNTIME_KEYS


def _paths_with_value(node: Any, value: Any, prefix: str = '') -> Iterator[str]:
    """Dotted paths (list items by index, as ``--cfg-options``) whose value equals ``value``."""
    if isinstance(node, Mapping):
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        path = f'{prefix}{key}'
        if type(child) is type(value) and child == value:
            yield path
        else:
            yield from _paths_with_value(child, value, path + '.')


def check_cfg_options(cfg: Config, cfg_options: Mapping[str, Any]) -> None:
    """Refuse ``--cfg-options`` keys that would change nothing.

    mmengine resolves a config file's top-level variables (``max_iters = 2000`` then
    ``train_cfg = dict(max_iters=max_iters)``) while it parses the file, so
    ``--cfg-options max_iters=5`` sets a key that nothing reads any more; so does a new
    top-level key (``max_iter=5``). Keys whose first part is read at run time
    (:func:`runtime_keys`: ``train_cfg``, ``model``, ``optim_wrapper``, ``work_dir``, ...) pass.

    Args:
        cfg (Config): The parsed config.
        cfg_options (Mapping[str, Any]): The ``--cfg-options`` (dotted key -> value).

    Raises:
        ValueError: naming each refused key and, for a variable of the file, the dotted keys
            that hold its value (the ones to set instead). With a custom ``runner_type``
            (which may read other keys) this is a warning instead.
    """
    readable = runtime_keys()
    problems: List[str] = []
    for key in cfg_options:
        top = key.split('.')[0]
        if top in readable:
            continue
        if top in cfg:
            value = cfg[top]
            uses: List[str] = []
            if '.' not in key and not isinstance(value, bool):
                uses = [
                    p
                    for t in readable
                    if t in cfg
                    for p in _paths_with_value(cfg[t], value, t + '.')
                ]
            where = (
                f'set the key(s) that use its value instead: {", ".join(sorted(uses)[:6])}'
                if uses
                else 'set the keys that use it instead (see the config file)'
            )
            problems.append(
                f'{key!r}: `{top}` is a variable of the config file, resolved while the file '
                f'is parsed, so setting it changes nothing; {where}'
            )
        else:
            problems.append(f'{key!r}: nothing reads a top-level `{top}` (a typo?)')
    if not problems:
        return
    message = '--cfg-options would be ignored:\n  ' + '\n  '.join(problems)
    if cfg.get('runner_type', None) not in (None, 'Runner'):
        print_log(
            message + ' (kept: a custom runner_type may read them)',
            logger='current',
            level=logging.WARNING,
        )
        return
    raise ValueError(message)


def _gpu_expectation() -> Tuple[str, ...]:
    """Why GPUs were evidently expected: the causes found (empty when none)."""
    from mmext.utils.mmcv_ops import count_nvidia_smi_gpus

    causes = []
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    if visible not in (None, '', '-1', 'none', 'NoDevFiles'):
        causes.append(f'CUDA_VISIBLE_DEVICES={visible}')
    # SLURM_GPUS_ON_NODE is a count; the others list GPU indices or a gres spec
    for name in ('SLURM_GPUS_ON_NODE', 'SLURM_JOB_GPUS', 'SLURM_STEP_GPUS', 'SLURM_GPUS'):
        value = os.environ.get(name, '')
        if value and not (name == 'SLURM_GPUS_ON_NODE' and value == '0'):
            causes.append(f'slurm allocated GPUs ({name}={value})')
            break
    gpus = count_nvidia_smi_gpus()
    if gpus:
        causes.append(f'nvidia-smi lists {gpus} GPU(s)')
    return tuple(causes)


def warn_if_gpus_expected(device: str = 'auto') -> Optional[str]:
    """Warn once when the run falls back to the CPU although GPUs were evidently expected.

    Args:
        device (str): ``--device``: ``'cpu'`` states the CPU intent and silences the warning
            (so does ``MMEXT_DEVICE=cpu``).

    Returns:
        str | None: The warning printed, or None.
    """
    if device == 'cpu' or os.environ.get('MMEXT_DEVICE') == 'cpu' or torch.cuda.is_available():
        return None
    causes = _gpu_expectation()
    if not causes:
        return None
    cuda = torch.version.cuda
    why = (
        'torch is a CPU-only build'
        if not cuda
        else f'torch (CUDA {cuda}) finds no usable GPU: driver too old for this build, or the '
        'devices are not visible to this process'
    )
    message = (
        f'running on the CPU (gloo, no CUDA autocast) although GPUs were expected '
        f'({"; ".join(causes)}): {why}. Pass --device cpu (or set MMEXT_DEVICE=cpu) if the CPU '
        'is intended.'
    )
    print_log(message, logger='current', level=logging.WARNING)
    return message


def check_checkpoints(
    runner, cfg: Config, test_checkpoint: Optional[str] = None, allow_partial: bool = False
) -> None:
    """Refuse a checkpoint of another model before the run starts.

    Args:
        runner (Runner): The built runner (its model is compared).
        cfg (Config): The config (``load_from``, ``resume``).
        test_checkpoint (str, optional): The checkpoint of ``tools/test.py``.
        allow_partial (bool): ``--allow-partial``: skip the check.

    Raises:
        CheckpointMismatchError, NotATrainingCheckpointError: see
            :func:`mmext.utils.checkpoint_match.check_checkpoint_for_model`.
    """
    from mmext.utils.checkpoint_match import check_checkpoint_for_model

    if test_checkpoint is not None:
        path, purpose = test_checkpoint, 'test'
    else:
        path = cfg.get('load_from', None)
        purpose = 'resume' if cfg.get('resume', False) else 'load_from'
    if not path or '://' in str(path) or not osp.isfile(str(path)):
        return  # nothing given, remote (mmengine checks it), or auto-resume of the work dir
    if allow_partial and purpose != 'resume':
        return
    # a resume still needs a training checkpoint with --allow-partial, of any share
    check_checkpoint_for_model(
        runner.model, str(path), purpose, min_share=0.0 if allow_partial else None
    )
