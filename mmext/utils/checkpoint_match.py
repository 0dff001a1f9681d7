"""Refuse a checkpoint that belongs to another model before it is tested, fine-tuned or resumed.

mmengine loads checkpoints with ``strict=False``: a classification checkpoint given to a
segmentation config loads "successfully", leaves the model at its initialisation, and the test
reports a score; the only hint is a list of missing / unexpected keys among hundreds of log
lines. :func:`check_checkpoint_for_model` compares the checkpoint's state dict with the model's
before anything runs and raises :class:`CheckpointMismatchError` when less than a stated share
of the model's parameters and buffers is found in it with the right shape:

* testing (``tools/test.py``) and resuming (``--resume CKPT``): :data:`MIN_SHARE_SAME_MODEL`
  (90 %), the checkpoint should be of this very model;
* fine-tuning (``load_from`` in ``tools/train.py``): :data:`MIN_SHARE_FINETUNE` (50 %), a
  model-zoo checkpoint of a related model (another head, other classes) still loads.

``--allow-partial`` in both tools skips the check. A resume also needs a training checkpoint
(``meta`` and ``optimizer``): a bare state dict raises :class:`NotATrainingCheckpointError`
instead of mmengine's ``KeyError: 'meta'``.
"""

from typing import List, NamedTuple, Optional

import torch

#: share of the model's state-dict entries a test / resume checkpoint must match
MIN_SHARE_SAME_MODEL = 0.9
#: share of the model's state-dict entries a ``load_from`` (fine-tuning) checkpoint must match
MIN_SHARE_FINETUNE = 0.5
#: the share each purpose needs
MIN_SHARE = {
    'test': MIN_SHARE_SAME_MODEL,
    'resume': MIN_SHARE_SAME_MODEL,
    'load_from': MIN_SHARE_FINETUNE,
}


class CheckpointMismatchError(ValueError):
    """The checkpoint's weights are not (mostly) those of the model."""


class NotATrainingCheckpointError(ValueError):
    """``--resume`` was given a file without the training state (``meta``, ``optimizer``)."""


class Match(NamedTuple):
    """How a state dict matches a model.

    Attributes:
        share (float): Matched entries / the model's entries.
        matched (int): Model entries found in the checkpoint with the same shape.
        total (int): The model's state-dict entries.
        missing (list[str]): Model entries absent from the checkpoint.
        unexpected (list[str]): Checkpoint entries the model does not have.
        shape_mismatch (list[str]): Entries present in both with different shapes.
    """

    share: float
    matched: int
    total: int
    missing: List[str]
    unexpected: List[str]
    shape_mismatch: List[str]


def _strip_prefix(key: str) -> str:
    return key[len('module.') :] if key.startswith('module.') else key


def state_dict_of(checkpoint: object) -> dict:
    """The state dict of a loaded checkpoint (``checkpoint['state_dict']`` or a bare one).

    Raises:
        CheckpointMismatchError: when the object holds no tensors at all.
    """
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict) or not any(torch.is_tensor(v) for v in checkpoint.values()):
        raise CheckpointMismatchError(
            f'the file holds no model weights (a {type(checkpoint).__name__} without tensors)'
        )
    return {_strip_prefix(k): v for k, v in checkpoint.items() if torch.is_tensor(v)}


def match_state_dict(model: torch.nn.Module, state_dict: dict) -> Match:
    """Compare a state dict with a model's (``module.`` prefixes of either side ignored).

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        state_dict (dict): Name -> tensor.

    Returns:
        Match: The share of the model's entries found with the same shape, and the lists.
    """
    model = getattr(model, 'module', model)
    own = {_strip_prefix(k): v for k, v in model.state_dict().items()}
    given = {_strip_prefix(k): v for k, v in state_dict.items()}
    missing = [k for k in own if k not in given]
    unexpected = [k for k in given if k not in own]
    shape_mismatch = [k for k in own if k in given and tuple(own[k].shape) != tuple(given[k].shape)]
    matched = len(own) - len(missing) - len(shape_mismatch)
    return Match(matched / max(len(own), 1), matched, len(own), missing, unexpected, shape_mismatch)


def _first(names: List[str], n: int = 5) -> str:
    more = f' ... (+{len(names) - n})' if len(names) > n else ''
    return ', '.join(names[:n]) + more if names else 'none'


def check_checkpoint_for_model(
    model: torch.nn.Module, path: str, purpose: str, min_share: Optional[float] = None
) -> Match:
    """Load ``path`` on the CPU and refuse it when it does not fit ``model``.

    Args:
        model (nn.Module): The model built from the config.
        path (str): The checkpoint file.
        purpose (str): ``'test'``, ``'resume'`` (also requires the training state: ``meta``,
            ``optimizer``) or ``'load_from'``; sets the share of the model's state-dict
            entries that must be found with the right shape (:data:`MIN_SHARE`).
        min_share (float, optional): Another share (``--allow-partial``: 0).

    Returns:
        Match: The comparison, when the checkpoint is accepted.

    Raises:
        NotATrainingCheckpointError: ``'resume'`` and no ``meta`` / ``optimizer`` in the file.
        CheckpointMismatchError: less than ``min_share`` matched; lists the first missing,
            unexpected and mis-shaped keys and names ``--allow-partial``.
    """
    from mmengine.runner.checkpoint import _load_checkpoint

    if purpose not in MIN_SHARE:
        raise ValueError(f'purpose must be one of {sorted(MIN_SHARE)}, got {purpose!r}')
    if min_share is None:
        min_share = MIN_SHARE[purpose]
    checkpoint = _load_checkpoint(path, map_location='cpu')
    if purpose == 'resume':
        absent = [
            k
            for k in ('meta', 'optimizer')
            if not (isinstance(checkpoint, dict) and k in checkpoint)
        ]
        if absent:
            raise NotATrainingCheckpointError(
                f'--resume: {path} is not a training checkpoint (no {"/".join(absent)}): it '
                'holds weights only. Use it with load_from (`--cfg-options load_from=PATH`) to '
                'start a new run from these weights.'
            )
    try:
        match = match_state_dict(model, state_dict_of(checkpoint))
    except CheckpointMismatchError as exc:
        raise CheckpointMismatchError(f'{purpose}: {path}: {exc}') from None
    if match.share >= min_share:
        return match
    name = type(getattr(model, 'module', model)).__name__
    raise CheckpointMismatchError(
        f'{purpose}: checkpoint is for another model: {path} matches {match.matched} of the '
        f'{match.total} weights of this {name} ({100 * match.share:.0f} %, at least '
        f'{100 * min_share:.0f} % needed). Missing: {_first(match.missing)}. Unexpected: '
        f'{_first(match.unexpected)}. Other shape: {_first(match.shape_mismatch)}. Pass '
        '--allow-partial to load it anyway.'
    )
