"""Linear warmup followed by cosine annealing (Bag of Freebies, section 3.4).

One scheduler instead of the two-scheduler chain ``LinearLR`` + ``CosineAnnealingLR``, with the
same step conventions as that chain (``end`` exclusive, the warmup reaches the base value at its
last step), so the two give the same values::

    param_scheduler = [dict(type='mmext.WarmupCosineLR', warmup=4, begin=0, end=273,
                            warmup_start_factor=0.001, eta_min=0.0, by_epoch=True,
                            convert_to_iter_based=True)]

equals ``[LinearLR(start_factor=0.001, begin=0, end=4), CosineAnnealingLR(begin=4, end=273,
eta_min=0.0)]``.
"""

import math
from typing import List, Optional, Union

from mmengine.optim import BaseOptimWrapper
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from torch.optim import Optimizer

from mmext.registry import PARAM_SCHEDULERS

OptimizerType = Union[BaseOptimWrapper, Optimizer]


def warmup_cosine_value(
    step: int,
    base_value: float,
    warmup: int,
    total: int,
    warmup_start_factor: float,
    eta_min: float,
) -> float:
    """Closed-form value of the warmup + cosine schedule at a step.

    With ``s`` the step counted from ``begin``, ``W = warmup`` and ``T = total``:

    * ``s < W``: ``base * (f0 + (1 - f0) * s / (W - 1))`` (``base * f0`` when ``W == 1``),
      i.e. mmengine's ``LinearLR(start_factor=f0, end=W)``;
    * ``W <= s``: ``eta_min + (base - eta_min) * (1 + cos(pi * (s - W) / (T - W))) / 2``,
      i.e. mmengine's ``CosineAnnealingLR(begin=W, end=T)`` (Loshchilov & Hutter, SGDR).

    Args:
        step (int): Step index counted from ``begin`` (0-based).
        base_value (float): Initial (peak) value.
        warmup (int): Number of warmup steps ``W`` (0 disables warmup).
        total (int): Number of scheduled steps ``T`` (``end - begin``).
        warmup_start_factor (float): ``f0``, value at step 0 relative to ``base_value``.
        eta_min (float): Final value of the cosine phase.

    Returns:
        float: The scheduled value.
    """
    if step < warmup:
        if warmup == 1:
            return base_value * warmup_start_factor
        frac = step / (warmup - 1)
        return base_value * (warmup_start_factor + (1.0 - warmup_start_factor) * frac)
    progress = (step - warmup) / (total - warmup)
    return eta_min + (base_value - eta_min) * (1.0 + math.cos(math.pi * progress)) / 2.0


class WarmupCosineParamScheduler(_ParamScheduler):
    """Linear warmup from ``warmup_start_factor * base`` to ``base``, then cosine to ``eta_min``.

    Closed form (see :func:`warmup_cosine_value`): the value is computed from the initial value
    of each param group at every step, not chained on the current one, so the scheduler can be
    resumed with ``last_step`` and is not perturbed by rounding. Do not combine it with another
    scheduler of the same parameter over the same steps.

    Args:
        optimizer (Optimizer or BaseOptimWrapper): Wrapped optimizer.
        param_name (str): Name of the parameter to schedule, e.g. ``'lr'``.
        warmup (int | float): Warmup length ``W`` in steps of this scheduler (epochs when
            ``by_epoch=True``). A float is allowed for epoch-based configs converted to
            iterations (rounded to whole iterations). Defaults to 0 (no warmup).
        warmup_start_factor (float): Value at the first step relative to the base value, in
            ``[0, 1]``. Defaults to 0.001.
        eta_min (float, optional): Final value. Defaults to None (0 unless ``eta_min_ratio``).
        eta_min_ratio (float, optional): Final value relative to the base value.
            Defaults to None.
        begin (int): First step of the schedule. Defaults to 0.
        end (int): First step after the schedule; must be finite. Defaults to INF.
        last_step (int): Index of the last step, for resuming. Defaults to -1.
        by_epoch (bool): Whether ``begin``/``end``/``warmup`` count epochs. Defaults to True.
        verbose (bool): Whether to print each update. Defaults to False.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        warmup: Union[int, float] = 0,
        warmup_start_factor: float = 0.001,
        eta_min: Optional[float] = None,
        eta_min_ratio: Optional[float] = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if end == INF:
            raise ValueError(
                f'{type(self).__name__} needs a finite `end` (the step where the '
                'cosine phase reaches eta_min)'
            )
        if eta_min is not None and eta_min_ratio is not None:
            raise ValueError('give at most one of `eta_min` and `eta_min_ratio`')
        if not 0.0 <= warmup_start_factor <= 1.0:
            raise ValueError(f'warmup_start_factor must be in [0, 1], got {warmup_start_factor}')
        if warmup != int(warmup):
            raise ValueError(
                f'warmup={warmup} is not a whole number of steps; fractional '
                'epochs need by_epoch=True with convert_to_iter_based=True'
            )
        warmup = int(warmup)
        if not 0 <= warmup < end - begin:
            raise ValueError(
                f'warmup must be in [0, end - begin) = [0, {end - begin}), got {warmup}'
            )
        self.warmup = warmup
        self.warmup_start_factor = warmup_start_factor
        self.eta_min = 0.0 if (eta_min is None and eta_min_ratio is None) else eta_min
        self.eta_min_ratio = eta_min_ratio
        self.total = end - begin
        super().__init__(
            optimizer,
            param_name=param_name,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )

    @classmethod
    def build_iter_from_epoch(
        cls,
        *args,
        warmup: Union[int, float] = 0,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        epoch_length: Optional[int] = None,
        **kwargs,
    ) -> 'WarmupCosineParamScheduler':
        """Build an iteration-based instance from an epoch-based config.

        ``begin``, ``end`` and ``warmup`` are multiplied by ``epoch_length`` and truncated to
        whole iterations as mmengine's ``LinearLR``/``CosineAnnealingLR`` do.

        Args:
            warmup (int | float): Warmup length in epochs.
            begin (int): First epoch.
            end (int): End epoch (exclusive).
            by_epoch (bool): Must be True.
            epoch_length (int): Iterations per epoch.

        Returns:
            WarmupCosineParamScheduler: The iteration-based scheduler.
        """
        if not by_epoch:
            raise ValueError(
                'Only epoch-based kwargs whose `by_epoch=True` can be converted to iter-based.'
            )
        if epoch_length is None or epoch_length <= 0:
            raise ValueError(f'`epoch_length` must be a positive integer, but got {epoch_length}.')
        begin_iter = int(begin * epoch_length)
        end_iter = INF if end == INF else int(end * epoch_length)
        # warmup ends where LinearLR(end=begin + warmup) would end after conversion
        warmup_iter = int((begin + warmup) * epoch_length) - begin_iter
        return cls(
            *args, warmup=warmup_iter, begin=begin_iter, end=end_iter, by_epoch=False, **kwargs
        )

    def _eta_min(self, base_value: float) -> float:
        """Final value for a param group with initial value ``base_value``."""
        if self.eta_min_ratio is not None:
            return base_value * self.eta_min_ratio
        return self.eta_min

    def _get_value(self) -> List[float]:
        """Closed-form value of every param group at ``self.last_step``."""
        return [
            warmup_cosine_value(
                self.last_step,
                base,
                self.warmup,
                self.total,
                self.warmup_start_factor,
                self._eta_min(base),
            )
            for base in self.base_values
        ]


@PARAM_SCHEDULERS.register_module()
class WarmupCosineLR(LRSchedulerMixin, WarmupCosineParamScheduler):
    """Linear warmup then cosine annealing of the learning rate (section 3.4).

    See :class:`WarmupCosineParamScheduler` for the arguments (without ``param_name``).
    """


@PARAM_SCHEDULERS.register_module()
class WarmupCosineMomentum(MomentumSchedulerMixin, WarmupCosineParamScheduler):
    """Linear warmup then cosine annealing of the momentum.

    See :class:`WarmupCosineParamScheduler` for the arguments (without ``param_name``).
    """
