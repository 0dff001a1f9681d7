"""Stop a diverging run at its first non-finite loss, and never save non-finite weights.

A learning rate that is far too high (``optim_wrapper.optimizer.lr=1e30``) makes the loss
``nan`` within a few iterations; mmengine then trains to the end, exits 0, and its checkpoint
hook replaces the last good checkpoint with one whose weights are ``nan``. mmdet's
``CheckInvalidLossHook`` looks every 50 iterations and only in mmdet. Here:

* :class:`FiniteLossHook` (and :class:`~mmext.engine.hooks.SafeCheckpointHook`, which runs the
  same check by default, so every mmext config has it) raises :class:`NonFiniteLossError` at
  the first iteration whose logged loss terms are not finite, naming the iteration and the
  terms. It reads the values mmengine's ``RuntimeInfoHook`` has already copied to the message
  hub (``train/<loss term>``, plain floats), so it adds no device synchronisation to the step.
* :func:`check_finite_weights` is called by ``SafeCheckpointHook`` before every save: a model
  with a non-finite parameter or floating-point buffer is never written (nor made the
  ``last_checkpoint`` or the best one), and the previous checkpoint is kept.

In a distributed run each process checks its own losses; the process that raises ends, and
the launcher (torchrun, ``srun --kill-on-bad-exit``) stops the others.
"""

from typing import Optional

import torch
from mmengine.hooks import Hook

from mmext.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term logged in training is ``nan`` or ``inf``."""


class NonFiniteWeightsError(FloatingPointError):
    """A model about to be saved has ``nan`` or ``inf`` weights."""


def check_interval(interval: object, name: str = 'interval') -> int:
    """Validate a check interval: an int >= 0 (0 turns the check off).

    Args:
        interval (object): The value given.
        name (str): The argument's name for the error message.

    Returns:
        int: ``interval``.

    Raises:
        TypeError: if ``interval`` is not an int (booleans included: ``True`` is no interval).
        ValueError: if it is negative.
    """
    if isinstance(interval, bool) or not isinstance(interval, int):
        raise TypeError(f'{name} must be an int >= 0 (0: off), got {interval!r}')
    if interval < 0:
        raise ValueError(f'{name} must be >= 0 (0: off), got {interval}')
    return interval


def non_finite_loss_terms(runner, outputs: Optional[dict]) -> dict:
    """The loss terms of this iteration whose logged value is not finite.

    Args:
        runner (Runner): The runner; its message hub holds ``train/<key>`` as floats.
        outputs (dict | None): The ``log_vars`` of ``train_step``; only keys starting with
            ``loss`` are looked at.

    Returns:
        dict: ``{term: value}`` of the non-finite terms (empty when all are finite).
    """
    bad = {}
    for key in outputs or {}:
        if not str(key).startswith('loss'):
            continue
        scalars = runner.message_hub.log_scalars
        buffer = scalars.get(f'train/{key}')
        if buffer is None:  # not logged (RuntimeInfoHook absent): read the output itself
            value = outputs[key]
            value = float(value.detach().float().mean()) if torch.is_tensor(value) else value
        else:
            value = buffer.current()
        if not torch.isfinite(torch.as_tensor(float(value))):
            bad[key] = float(value)
    return bad


def raise_on_non_finite_loss(runner, outputs: Optional[dict], last_checkpoint: str = '') -> None:
    """Raise :class:`NonFiniteLossError` when a logged loss term of this iteration is not finite.

    Args:
        runner (Runner): The runner (``runner.iter`` is the iteration being finished, 0-based).
        outputs (dict | None): The ``log_vars`` of ``train_step``.
        last_checkpoint (str): The last good checkpoint, named in the message when known.
    """
    bad = non_finite_loss_terms(runner, outputs)
    if not bad:
        return
    terms = ', '.join(f'{k}={v}' for k, v in bad.items())
    kept = f' The last checkpoint, {last_checkpoint}, was kept.' if last_checkpoint else ''
    raise NonFiniteLossError(
        f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): {terms}. '
        'Training stops here so that no checkpoint with diverged weights is written.'
        f'{kept} Lower the learning rate (or add gradient clipping), check the data of this '
        'batch, or switch the check off with default_hooks.checkpoint.check_finite_loss=0 '
        '(mmext.FiniteLossHook: interval=0).'
    )


def check_finite_weights(model: torch.nn.Module, what: str = 'checkpoint') -> None:
    """Raise :class:`NonFiniteWeightsError` when a parameter or float buffer is not finite.

    One device synchronisation for the whole model (called once per save, not per step).

    Args:
        model (nn.Module): The model (a DDP wrapper is fine).
        what (str): What is being refused, for the message.
    """
    tensors = [
        (name, t)
        for name, t in list(model.named_parameters()) + list(model.named_buffers())
        if t.is_floating_point() and t.numel() > 0
    ]
    if not tensors:
        return
    with torch.no_grad():
        finite = torch.stack([torch.isfinite(t).all() for _, t in tensors])
    if bool(finite.all()):
        return
    names = [name for (name, _), ok in zip(tensors, finite.tolist()) if not ok]
    raise NonFiniteWeightsError(
        f'refusing to write the {what}: {len(names)} of {len(tensors)} weight tensors hold '
        f'nan or inf (first: {", ".join(names[:5])}); the previous checkpoint is kept. The run '
        'diverged: lower the learning rate or add gradient clipping.'
    )


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training at the first iteration whose loss is ``nan`` or ``inf``.

    ``mmext.SafeCheckpointHook`` runs this check itself (``check_finite_loss=1``), so configs
    that use it need nothing more; this hook is for runs with another checkpoint hook.

    Args:
        interval (int): Check every ``interval`` iterations; 0 turns the check off. The
            check reads the values already logged, so ``1`` (default) costs nothing.

    Example:
        >>> custom_hooks = [dict(type='mmext.FiniteLossHook', interval=1)]
    """

    priority = 'LOW'  # after RuntimeInfoHook (VERY_HIGH) logged the losses

    def __init__(self, interval: int = 1) -> None:
        self.interval = check_interval(interval)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Raise :class:`NonFiniteLossError` when this iteration's loss is not finite."""
        if self.interval and self.every_n_train_iters(runner, self.interval):
            raise_on_non_finite_loss(runner, outputs)
