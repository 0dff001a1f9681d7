"""Weight update of Stochastic TCE (TCE paper, Algorithm 1, lines 5-8).

After every training iteration :class:`TiltedClassHook` takes the batch loss
:math:`L_B` (line 5; the ``loss_key`` entry of the train step's log vars, by default the
total ``loss``), identifies the class ``c`` the batch was drawn for (through the records of
:class:`~mmext.datasets.samplers.TiltedClassSampler`, verified against the batch's
metainfo) and updates

.. math::

    \\tilde L_c \\leftarrow (1-\\gamma)\\,\\tilde L_c + \\gamma\\, e^{t L_B}, \\qquad
    w_c = \\pi_c \\tilde L_c \\big/ \\textstyle\\sum_l \\pi_l \\tilde L_l
    \\qquad \\text{(lines 6-8)}

and hands ``w`` to the sampler for the next draws (line 3).

* **Log space.** ``exp(t * L_B)`` overflows float64 once ``t * L_B > 709``. The hook stores
  :math:`\\ell_c = \\log \\tilde L_c` and applies :math:`\\ell_c \\leftarrow
  \\mathrm{logaddexp}(\\log(1-\\gamma) + \\ell_c,\\ \\log\\gamma + t L_B)` and
  :math:`w = \\mathrm{softmax}(\\log\\pi + \\ell)`: the same update, exactly, without
  overflow.
* **Which batch loss** (``batch_loss``). ``'batch'`` (default, the documented reading):
  :math:`L_B` is the ``loss_key`` log-var, the loss (1) on the whole batch. ``'class'``: the
  CE of the drawn class's own pixels in the batch, read from the record that
  :class:`~mmext.models.losses.ClassTrackedCrossEntropyLoss` leaves in the message hub
  (Sec. 2.1 "drops the superscript" of Eqs. 2/3 and indexes :math:`\tilde L` by class, which
  admits this reading; see that module). The batch reading's class estimates differ little
  (every batch holds background and several digits), so its weights barely move.
* **Initial weights.** Algorithm 1 initialises :math:`w_c = \\tilde L_c = 0`, which leaves
  nothing to sample from. The hook starts from :math:`\\tilde L_c = e^{t L_0}` for every class,
  with :math:`L_0` = ``init_loss`` (default :math:`\\log K`, the CE of an untrained uniform
  predictor), so the initial ``w`` is the prior :math:`\\pi`.
* **Prior** :math:`\\pi`: ``'uniform'`` (the paper's line 8) or ``'image_count'``
  (proportional to the number of training images holding the class, as TERM's MNIST code
  multiplies by class size). Classes without images always get weight 0.
* **Distributed.** Each rank adds its batch loss to a per-class sum/count vector that is
  all-reduced, so every rank applies the same update (normally a single class per step, as
  all ranks draw the same class) and holds identical weights. The drawn-class histogram
  counts rank-batches (``world_size`` per step).
* **Checkpoints.** ``log L~``, the drawn-class histogram and the sampler's RNG state and
  pending batches go to ``checkpoint['tilted_class_hook']`` and are restored on ``--resume``.
* **Logging.** ``train/tce_weight_max`` and ``train/tce_weight_entropy`` go to the message
  hub every iteration; per-class weights (``tce/weight/<class>``) and the drawn-class
  histogram (``tce/count/<class>``) to the visualizer backends every ``log_interval``.
"""

import math
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from mmext.datasets.samplers.tilted_class_sampler import TiltedClassSampler
from mmext.models.losses.class_tracked_cross_entropy_loss import CLASS_LOSS_KEY
from mmext.registry import HOOKS

CKPT_KEY = 'tilted_class_hook'
PRIORS = ('uniform', 'image_count')
BATCH_LOSSES = ('batch', 'class')


def batch_keys(data_batch: Any) -> Tuple[Optional[str], Optional[List[Any]]]:
    """Keys that identify a data batch's images: ``sample_idx`` or ``img_path``.

    Args:
        data_batch: The batch given to ``after_train_iter`` (a dict with ``data_samples``).

    Returns:
        tuple: ``(kind, keys)``, or ``(None, None)`` when the samples carry neither.
    """
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    if not samples:
        return None, None
    metas = [getattr(s, 'metainfo', s) for s in samples]
    for kind in ('sample_idx', 'img_path'):
        if all(isinstance(m, dict) and kind in m for m in metas):
            return kind, [int(m[kind]) if kind == 'sample_idx' else m[kind] for m in metas]
    return None, None


@HOOKS.register_module()
class TiltedClassHook(Hook):
    """Stochastic TCE weight update (Algorithm 1, lines 5-8); pairs with TiltedClassSampler.

    Args:
        tilt (float): The tilt ``t`` (negative allowed; 0 makes all weights equal).
            Defaults to 1.0.
        gamma (float): Rate ``gamma`` of the linear dynamic (line 7), in ``(0, 1]``.
            Defaults to 0.1.
        loss_key (str): Log-var of the train step used as :math:`L_B`. Defaults to
            ``'loss'`` (the total loss).
        class_prior (str): ``'uniform'`` or ``'image_count'``, see the module docstring.
        init_loss (float, optional): :math:`L_0` of the initial :math:`\\tilde L`; defaults
            to ``log(num_classes)``.
        log_interval (int): Iterations between per-class visualizer logs. Defaults to 50.
        verify (bool): Match each batch to its record by the batch's ``sample_idx`` /
            ``img_path`` (recommended); False trusts the FIFO order. Defaults to True.
        batch_loss (str): ``'batch'`` (:math:`L_B` = the ``loss_key`` log-var) or
            ``'class'`` (the drawn class's pixel CE, recorded by
            ``mmext.ClassTrackedCrossEntropyLoss``); see the module docstring. Defaults to
            ``'batch'``.
        class_loss_key (str): Message-hub runtime-info key of that record (``'class'``
            only). Defaults to ``'mmext/class_ce'``.
    """

    priority = 'ABOVE_NORMAL'  # before LoggerHook and CheckpointHook

    def __init__(
        self,
        tilt: float = 1.0,
        gamma: float = 0.1,
        loss_key: str = 'loss',
        class_prior: str = 'uniform',
        init_loss: Optional[float] = None,
        log_interval: int = 50,
        verify: bool = True,
        batch_loss: str = 'batch',
        class_loss_key: str = CLASS_LOSS_KEY,
    ) -> None:
        if not math.isfinite(tilt):
            raise ValueError(f'tilt must be finite, got {tilt}')
        if not 0 < gamma <= 1:
            raise ValueError(f'gamma must be in (0, 1], got {gamma}')
        if class_prior not in PRIORS:
            raise ValueError(f'class_prior must be one of {PRIORS}, got {class_prior!r}')
        if init_loss is not None and not math.isfinite(init_loss):
            raise ValueError(f'init_loss must be finite, got {init_loss}')
        if log_interval < 1:
            raise ValueError(f'log_interval must be >= 1, got {log_interval}')
        if batch_loss not in BATCH_LOSSES:
            raise ValueError(f'batch_loss must be one of {BATCH_LOSSES}, got {batch_loss!r}')
        self.batch_loss = batch_loss
        self.class_loss_key = class_loss_key
        self.tilt = float(tilt)
        self.gamma = float(gamma)
        self.loss_key = loss_key
        self.class_prior = class_prior
        self.init_loss = init_loss
        self.log_interval = log_interval
        self.verify = verify
        self.sampler: Optional[TiltedClassSampler] = None
        self.log_tilde: Optional[np.ndarray] = None
        self.log_prior: Optional[np.ndarray] = None
        self.counts: Optional[np.ndarray] = None
        self.num_updates = 0
        self.class_names: List[str] = []
        self._resumed_state: Optional[Dict[str, Any]] = None

    # ---------------------------------------------------------------- algorithm
    def setup(
        self, sampler: TiltedClassSampler, class_names: Optional[Sequence[str]] = None
    ) -> None:
        """Bind the sampler and initialise ``L~`` and ``w`` (see the module docstring).

        Args:
            sampler (TiltedClassSampler): The train batch sampler.
            class_names (Sequence[str], optional): Names for logging.
        """
        if not isinstance(sampler, TiltedClassSampler):
            raise TypeError(
                'TiltedClassHook needs train_dataloader.batch_sampler='
                "dict(type='mmext.TiltedClassSampler', ...), got "
                f'{type(sampler).__name__}'
            )
        self.sampler = sampler
        k = sampler.num_classes
        names = list(class_names) if class_names else []
        self.class_names = names if len(names) == k else [str(i) for i in range(k)]
        self._weight_keys = [f'tce/weight/{n}' for n in self.class_names]
        self._count_keys = [f'tce/count/{n}' for n in self.class_names]
        counts = sampler.class_counts.astype(np.float64)
        with np.errstate(divide='ignore'):
            prior = np.ones(k) if self.class_prior == 'uniform' else counts
            self.log_prior = np.where(counts > 0, np.log(prior), -np.inf)
        init_loss = math.log(k) if self.init_loss is None else self.init_loss
        self.log_tilde = np.full(k, self.tilt * init_loss, dtype=np.float64)
        self.counts = np.zeros(k, dtype=np.int64)
        self.num_updates = 0
        self._push_weights()

    def weights(self) -> np.ndarray:
        """The class weights ``w = softmax(log pi + log L~)`` (Algorithm 1, line 8).

        Returns:
            np.ndarray: ``(num_classes,)`` weights summing to 1.
        """
        z = self.log_prior + self.log_tilde
        z = np.exp(z - z[np.isfinite(z)].max())
        return z / z.sum()

    def _push_weights(self) -> None:
        self.sampler.set_class_weights(self.weights())

    def update(self, cls: int, batch_loss: float) -> None:
        """Lines 6-7 for one class in log space, then line 8.

        Args:
            cls (int): The class the batch was drawn for.
            batch_loss (float): :math:`L_B`.
        """
        new = math.log(self.gamma) + self.tilt * batch_loss
        if self.gamma == 1:
            self.log_tilde[cls] = new
        else:
            self.log_tilde[cls] = np.logaddexp(math.log1p(-self.gamma) + self.log_tilde[cls], new)
        self.num_updates += 1

    # ---------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        """Bind the sampler, initialise, and apply a resumed state if any."""
        dataset = runner.train_dataloader.dataset
        names = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        self.setup(runner.train_dataloader.batch_sampler, names)
        if self.sampler.infinite and isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise ValueError(
                'TiltedClassSampler(infinite=True) never ends an epoch of '
                'EpochBasedTrainLoop: set infinite=False or use IterBasedTrainLoop'
            )
        if self._resumed_state is not None:
            self.load_state_dict(self._resumed_state)
            self._resumed_state = None
            skip = runner.iter if isinstance(runner.train_loop, IterBasedTrainLoop) else 0
            self.sampler.skip_batches(skip)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: Any = None, outputs: Optional[dict] = None
    ) -> None:
        """Match the batch to its class, all-reduce the statistics and update ``w``."""
        if self.sampler is None:
            return
        kind, keys = batch_keys(data_batch) if self.verify else (None, None)
        record = self.sampler.pop_record(kind, keys)
        k = self.sampler.num_classes
        stats = torch.zeros(2 * k, dtype=torch.float64)
        if record is not None:
            if self.batch_loss == 'class':
                loss = self._class_loss(runner, record.cls)
            else:
                loss = self._batch_loss(outputs)
            if math.isfinite(loss):
                stats[record.cls] = loss
                stats[k + record.cls] = 1.0
            else:
                warnings.warn(
                    f'TiltedClassHook: non-finite batch loss {loss}; '
                    'the class weights are not updated for it'
                )
        if get_dist_info()[1] > 1:
            all_reduce(stats, op='sum')
        sums, nums = stats[:k].numpy(), stats[k:].numpy()
        for c in np.flatnonzero(nums > 0):
            self.update(int(c), float(sums[c] / nums[c]))
            self.counts[c] += int(round(nums[c]))
        if (nums > 0).any():
            self._push_weights()
        self._log(runner)

    def _batch_loss(self, outputs: Optional[dict]) -> float:
        if not outputs or self.loss_key not in outputs:
            raise KeyError(
                f'TiltedClassHook: loss_key {self.loss_key!r} not in the train '
                f'step outputs {sorted(outputs or {})}'
            )
        value = outputs[self.loss_key]
        if isinstance(value, torch.Tensor):
            value = value.detach().float().mean().item()
        return float(value)

    def _class_loss(self, runner, cls: int) -> float:
        """The drawn class's pixel CE of this iteration (``batch_loss='class'``).

        The record is popped, so a stale one is never read twice; a batch without a pixel
        of the class (e.g. cropped away) gives NaN, which skips the update with a warning.
        """
        record = runner.message_hub.pop_info(self.class_loss_key, None)
        if record is None:
            raise KeyError(
                f"TiltedClassHook(batch_loss='class'): no per-class record "
                f'{self.class_loss_key!r} in the message hub; use '
                "loss_decode=dict(type='mmext.ClassTrackedCrossEntropyLoss', ...) in the "
                "decode head (or batch_loss='batch')"
            )
        total, count = (float(v) for v in record[:, cls].tolist())
        return total / count if count > 0 else float('nan')

    def _log(self, runner) -> None:
        w = self.sampler.class_weights
        nz = w[w > 0]
        runner.message_hub.update_scalar('train/tce_weight_max', float(w.max()))
        runner.message_hub.update_scalar(
            'train/tce_weight_entropy', float(-(nz * np.log(nz)).sum())
        )
        step = runner.iter + 1
        if step % self.log_interval == 0:
            scalars = dict(zip(self._weight_keys, w.tolist()))
            scalars.update(zip(self._count_keys, self.counts.tolist()))
            runner.visualizer.add_scalars(scalars, step=step)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> Dict[str, Any]:
        """The hook's and the sampler's state, in plain Python types.

        Returns:
            dict: ``log_tilde``, ``counts``, ``num_updates``, ``tilt``, ``gamma``,
            ``sampler``.
        """
        return dict(
            log_tilde=[float(v) for v in self.log_tilde],
            counts=[int(v) for v in self.counts],
            num_updates=self.num_updates,
            tilt=self.tilt,
            gamma=self.gamma,
            sampler=self.sampler.state_dict(),
        )

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (after :meth:`setup`).

        Args:
            state (dict): A :meth:`state_dict`.

        Raises:
            ValueError: If the number of classes differs.
        """
        if len(state['log_tilde']) != len(self.log_tilde):
            raise ValueError(
                f'checkpoint has {len(state["log_tilde"])} classes, the '
                f'sampler {len(self.log_tilde)}'
            )
        if state.get('tilt') != self.tilt or state.get('gamma') != self.gamma:
            warnings.warn(
                'TiltedClassHook: tilt/gamma differ from the checkpoint; the '
                'restored weights continue with the new values'
            )
        self.log_tilde = np.asarray(state['log_tilde'], dtype=np.float64)
        self.counts = np.asarray(state['counts'], dtype=np.int64)
        self.num_updates = int(state['num_updates'])
        self.sampler.load_state_dict(state['sampler'])
        self._push_weights()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the state under ``checkpoint['tilted_class_hook']``."""
        if self.sampler is not None:
            checkpoint[CKPT_KEY] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the state of a resumed checkpoint; it is applied in ``before_train``."""
        if CKPT_KEY in checkpoint and getattr(runner, '_resume', False):
            self._resumed_state = checkpoint[CKPT_KEY]
