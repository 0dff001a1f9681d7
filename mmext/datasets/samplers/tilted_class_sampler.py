"""Class-conditional batch sampler of Stochastic TCE (TCE paper, Algorithm 1, lines 1, 3-4).

Per batch, :class:`TiltedClassSampler` draws a class ``c`` from the categorical weights
``w`` (line 3) and then the whole minibatch from the images that contain ``c`` (line 4, the
overlapping subsets :math:`\\mathcal D_c^t` of line 1, taken from the shared per-image class
index :mod:`mmext.datasets.samplers.class_index`). The weights are set by
:class:`mmext.engine.hooks.TiltedClassHook` after every iteration (lines 5-8).

**Matching batches to classes.** DataLoader workers prefetch: when the hook sees batch ``k``
the sampler has already drawn batches up to ``k + prefetch``, so a "last drawn class" would be
wrong. The sampler therefore keeps a FIFO of *issued records* ``(class, global indices)`` in
the order the DataLoader pulled them (it pulls in the main process and yields batches in the
same order). The hook pops the head record for each trained batch and verifies it against the
batch itself (``sample_idx`` or ``img_path`` of the data samples' metainfo, which mmseg's
``PackSegInputs`` keeps), resynchronising if batches were consumed without the hook. The
class of a batch is drawn when the DataLoader pulls it, i.e. with the weights of up to
``num_workers * prefetch_factor`` iterations earlier (Algorithm 1 draws with the weights of
the previous step; with ``num_workers=0`` it is exactly that).

**Distributed.** Every rank uses the same seed (the wrapped sampler's seed, which mmengine
synchronises) and the same weights (the hook all-reduces its statistics), so all ranks draw
the same class sequence and the same *global* batch of ``batch_size * world_size`` images
(without replacement when the class has enough images); rank ``r`` takes the ``r``-th slice.
Ranks thus train on different images of the same class at each step.

**Resume.** :meth:`state_dict` holds the RNG state and the records drawn but not yet trained
on; :meth:`load_state_dict` restores them and the sampler replays those records first, then
continues drawing from the restored RNG: a resumed run continues the same stream.
:meth:`skip_batches` serves the batches that mmengine's ``IterBasedTrainLoop`` discards
after a resume without touching the RNG.
"""

import itertools
import math
import warnings
from collections import deque
from typing import Any, Deque, Dict, Iterator, List, NamedTuple, Optional, Sequence, Union

import numpy as np
from torch.utils.data import Sampler

from mmext.registry import DATA_SAMPLERS

from .class_index import ClassIndex, build_class_index_distributed
from .sampler_context import sampler_context

#: issued-but-unmatched records kept; far above any DataLoader prefetch depth
MAX_OUTSTANDING = 4096


class BatchRecord(NamedTuple):
    """One issued batch.

    Attributes:
        cls (int): The drawn class (-1 for a skip batch).
        indices (tuple): Global batch (``batch_size * world_size`` dataset indices).
        skip (bool): Served to a loop that discards it (never seen by the hook).
    """

    cls: int
    indices: tuple
    skip: bool = False


@DATA_SAMPLERS.register_module()
class TiltedClassSampler(Sampler):
    """Batch sampler of Stochastic TCE: one class per batch, drawn from weights ``w``.

    Use as ``train_dataloader.batch_sampler``; mmengine's Runner passes the built
    ``sampler`` (whose dataset and seed are used; its order is not) and ``batch_size``.

    Args:
        sampler (Sampler, optional): The dataloader's sampler (provides ``dataset`` and
            ``seed``). Either this or ``dataset`` is required.
        batch_size (int): Images per rank and batch.
        dataset (optional): The dataset, when no ``sampler`` is given.
        class_index (ClassIndex, optional): A prebuilt per-image class index; built with
            :func:`build_class_index` otherwise.
        ignore_index (int): Label-map value that is not a class. Defaults to 255.
        exclude_classes (Sequence[int | str]): Classes never drawn (e.g. a background).
        cache_dir (str | bool, optional): Class-index cache folder (see
            :func:`build_class_index`).
        infinite (bool): Never stop (for ``IterBasedTrainLoop``; avoids mmengine's
            dataloader restarts). Defaults to False: ``len(self)`` batches per epoch.
        epoch_length (int, optional): Batches per epoch; defaults to
            ``ceil(len(dataset) / (batch_size * world_size))`` (one pass worth of images).
        replacement (bool): Draw the images of a batch with replacement even when the class
            has enough images. Defaults to False.
        seed (int, optional): RNG seed; defaults to the sampler's seed, else a seed
            synchronised across ranks.
    """

    def __init__(
        self,
        sampler: Optional[Sampler] = None,
        batch_size: int = 1,
        dataset: Any = None,
        class_index: Optional[ClassIndex] = None,
        ignore_index: int = 255,
        exclude_classes: Sequence[Union[int, str]] = (),
        cache_dir: Optional[Union[str, bool]] = None,
        infinite: bool = False,
        epoch_length: Optional[int] = None,
        replacement: bool = False,
        seed: Optional[int] = None,
    ) -> None:
        context = sampler_context('TiltedClassSampler', sampler, dataset, seed)
        dataset = context.dataset
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
        if epoch_length is not None and epoch_length < 1:
            raise ValueError(f'epoch_length must be >= 1, got {epoch_length}')
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.rank, self.world_size, self.seed = context[1:]
        if class_index is None:
            class_index = self._build_index(dataset, ignore_index, exclude_classes, cache_dir)
        if len(class_index) != len(dataset):
            raise ValueError(
                f'class index covers {len(class_index)} images, the dataset has {len(dataset)}'
            )
        self.class_index = class_index
        self.num_classes = class_index.num_classes
        self.class_counts = class_index.class_counts()
        if not (self.class_counts > 0).any():
            raise ValueError('no image contains any (non-excluded) class: nothing to sample')
        self.infinite = infinite
        self.replacement = replacement
        global_bs = batch_size * self.world_size
        self.epoch_length = epoch_length or math.ceil(len(dataset) / global_bs)
        self.epoch = 0
        self._rng = np.random.default_rng(self.seed)
        self._issued: Deque[BatchRecord] = deque()
        self._pending: Deque[BatchRecord] = deque()
        self._skip_remaining = 0
        self._warned_unconsumed = False
        self.set_class_weights(self.class_counts > 0)

    def _build_index(
        self,
        dataset: Any,
        ignore_index: int,
        exclude_classes: Sequence[Union[int, str]],
        cache_dir: Optional[Union[str, bool]],
    ) -> ClassIndex:
        """Rank 0 builds (and caches) the class index first; the other ranks then load it.

        A failure on any rank makes every rank raise instead of waiting (see
        :func:`~mmext.datasets.samplers.class_index.build_class_index_distributed`).
        """
        return build_class_index_distributed(
            dataset,
            self.rank,
            self.world_size,
            ignore_index=ignore_index,
            exclude_classes=exclude_classes,
            cache_dir=cache_dir,
        )

    # ------------------------------------------------------------------ weights
    @property
    def class_weights(self) -> np.ndarray:
        """np.ndarray: The current categorical weights ``w`` (sum to 1)."""
        return self._weights.copy()

    def set_class_weights(self, weights: Union[np.ndarray, Sequence[float]]) -> None:
        """Set the categorical weights of the class draw (Algorithm 1, line 3).

        Classes without any image get weight 0; the rest is renormalised.

        Args:
            weights (array-like): ``(num_classes,)`` non-negative finite weights.

        Raises:
            ValueError: On a wrong length, negative/non-finite values, or no positive
                weight on a class that has images.
        """
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape[0] != self.num_classes:
            raise ValueError(f'expected {self.num_classes} class weights, got {w.shape[0]}')
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError('class weights must be finite and non-negative')
        w = np.where(self.class_counts > 0, w, 0.0)
        total = w.sum()
        if total <= 0:
            raise ValueError('all classes that have images got weight 0')
        self._weights = w / total
        self._cdf = np.cumsum(self._weights)

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> BatchRecord:
        """Draw a class (line 3) and a global batch of its images (line 4)."""
        u = self._rng.random() * self._cdf[-1]
        c = int(np.searchsorted(self._cdf, u, side='right'))
        c = min(c, self.num_classes - 1)
        while self._weights[c] == 0:  # u on a flat step of the cdf (measure zero)
            c -= 1
        pool = self.class_index.images_of_class(c)
        n = self.batch_size * self.world_size
        replace = self.replacement or len(pool) < n
        picks = self._rng.choice(pool, size=n, replace=replace)
        return BatchRecord(c, tuple(int(i) for i in picks))

    def _next_record(self) -> BatchRecord:
        if self._skip_remaining > 0:
            self._skip_remaining -= 1
            n = self.batch_size * self.world_size
            rec = BatchRecord(-1, tuple(i % len(self.dataset) for i in range(n)), True)
        elif self._pending:
            rec = self._pending.popleft()
        else:
            rec = self._draw()
        if len(self._issued) >= MAX_OUTSTANDING:  # nobody pops: used without the hook
            dropped = self._issued.popleft()
            if not dropped.skip and not self._warned_unconsumed:
                self._warned_unconsumed = True
                warnings.warn(
                    f'TiltedClassSampler: {MAX_OUTSTANDING} drawn batches were never '
                    'matched; without mmext.TiltedClassHook the class weights stay '
                    'fixed'
                )
        self._issued.append(rec)
        return rec

    def __iter__(self) -> Iterator[List[int]]:
        """Yield this rank's slice of each global batch (drawn lazily, one per pull)."""
        lo = self.rank * self.batch_size
        steps = itertools.count() if self.infinite else range(self.epoch_length)
        for _ in steps:
            yield list(self._next_record().indices[lo : lo + self.batch_size])

    def __len__(self) -> int:
        """int: Batches per epoch (the stream itself is endless when ``infinite``)."""
        return self.epoch_length

    def set_epoch(self, epoch: int) -> None:
        """Record the epoch. The RNG is one continuing stream and is not re-seeded.

        Args:
            epoch (int): The epoch.
        """
        self.epoch = epoch

    # ------------------------------------------------------------------ matching
    def record_keys(self, record: BatchRecord, kind: str) -> List[Any]:
        """This rank's keys of a record, to compare with a data batch.

        Args:
            record (BatchRecord): An issued record.
            kind (str): ``'sample_idx'`` or ``'img_path'``.

        Returns:
            list: The rank's dataset indices, or their ``img_path``.
        """
        lo = self.rank * self.batch_size
        idx = record.indices[lo : lo + self.batch_size]
        if kind == 'sample_idx':
            return list(idx)
        return [self.dataset.get_data_info(i)[kind] for i in idx]

    def pop_record(
        self, kind: Optional[str] = None, keys: Optional[Sequence[Any]] = None
    ) -> Optional[BatchRecord]:
        """Pop the record of the batch just trained on.

        Skip records are discarded. Without ``keys`` the oldest record is returned. With
        ``keys`` the oldest record whose :meth:`record_keys` equal them is returned and the
        records before it are dropped (batches consumed without the hook), with a warning.

        Args:
            kind (str, optional): Key kind, see :meth:`record_keys`.
            keys (Sequence, optional): The batch's keys, in batch order.

        Returns:
            BatchRecord | None: The record, or None (with a warning) when none matches.
        """
        while self._issued and self._issued[0].skip:
            self._issued.popleft()
        if not self._issued:
            warnings.warn(
                'TiltedClassSampler: a batch was trained on but no drawn batch is '
                "outstanding; is the sampler the train dataloader's batch_sampler?"
            )
            return None
        if kind is None or keys is None:
            return self._issued.popleft()
        keys = list(keys)
        for j, rec in enumerate(self._issued):
            if not rec.skip and self.record_keys(rec, kind) == keys:
                if j:
                    warnings.warn(
                        f'TiltedClassSampler: {j} drawn batch(es) were consumed '
                        'without the hook; resynchronised on the batch contents'
                    )
                for _ in range(j):
                    self._issued.popleft()
                return self._issued.popleft()
        warnings.warn(
            'TiltedClassSampler: the trained batch matches no drawn batch; its '
            'loss is not used for the class weights'
        )
        return None

    # ------------------------------------------------------------------ resume
    def skip_batches(self, num: int) -> None:
        """Serve the next ``num`` pulls as skip batches (no RNG use, never matched).

        Records already issued but not yet consumed count towards ``num`` (mmengine's
        ``IterBasedTrainLoop`` builds its iterator, which may prefetch, before resuming).

        Args:
            num (int): Batches the loop will discard.
        """
        already = list(self._issued)
        self._issued.clear()
        for i, rec in enumerate(already):
            self._issued.append(rec._replace(skip=True) if i < num else rec)
        if len(already) > num:
            warnings.warn(
                f'TiltedClassSampler: {len(already) - num} batch(es) were drawn '
                'before the resumed state was restored; they are trained on first'
            )
        self._skip_remaining = max(0, num - len(already))

    def state_dict(self) -> Dict[str, Any]:
        """RNG state and the drawn-but-untrained records (plain Python types), with the
        dataset size, global batch size and class count they belong to.

        Returns:
            dict: The state.
        """
        pending = [
            (r.cls, list(r.indices))
            for r in itertools.chain(self._issued, self._pending)
            if not r.skip
        ]
        return dict(
            rng=self._rng.bit_generator.state,
            pending=pending,
            epoch=self.epoch,
            global_batch_size=self.batch_size * self.world_size,
            num_images=len(self.dataset),
            num_classes=self.num_classes,
        )

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the pending records are replayed first.

        Args:
            state (dict): A :meth:`state_dict`.

        Raises:
            ValueError: If the state belongs to a dataset of another size or a sampler with
                another number of classes (its pending batches would be replayed as batches
                of the wrong classes). States saved before the class count was stored are
                accepted when their pending classes lie in ``[0, num_classes)``.
        """
        if state.get('num_images') != len(self.dataset):
            raise ValueError(
                f'sampler state is for {state.get("num_images")} images, the '
                f'dataset has {len(self.dataset)}'
            )
        num_classes = state.get('num_classes')
        if num_classes is None:  # a state saved before num_classes was stored
            out_of_range = [c for c, _ in state['pending'] if not 0 <= c < self.num_classes]
            if out_of_range:
                raise ValueError(
                    f'sampler state has pending batches of class '
                    f'{out_of_range[0]}, the sampler has {self.num_classes} '
                    'classes'
                )
        elif int(num_classes) != self.num_classes:
            raise ValueError(
                f'sampler state is for {num_classes} classes, the sampler has '
                f'{self.num_classes}: resume with the classes of the '
                'checkpoint'
            )
        self._rng.bit_generator.state = state['rng']
        self.epoch = int(state.get('epoch', 0))
        self._pending.clear()
        if state.get('global_batch_size') == self.batch_size * self.world_size:
            for cls, indices in state['pending']:
                self._pending.append(BatchRecord(int(cls), tuple(int(i) for i in indices)))
        elif state['pending']:
            warnings.warn(
                'TiltedClassSampler: batch size x world size changed since the '
                'checkpoint; the drawn-but-untrained batches are dropped'
            )
