"""Balance-batch (Huang et al., "Balance-batch", section II.C and Algorithm 1).

A batch holds at most ``batch_max`` images and is complete once it holds ``batch_cl``
distinct ("non-repeating") classes; a batch that would reach ``batch_max`` images short of
``batch_cl`` classes is discarded and reselected. In the default greedy fill every image
added after the first contributes at least one class the batch does not hold yet.

Two readings of how a batch is loaded (argument ``fill``):

* ``fill='greedy'`` (the default; every existing config): new-class fill. Only images that
  add a class join a batch, a failed attempt is discarded as a whole (steps 2-3 below)
  and a bounded class-driven fill completes the batch; a batch may end with more than
  ``batch_cl`` classes. It closes as early as it can, so batches are small (mean 4.9 images
  at ``batch_max`` 8, ``batch_cl`` 11 on the digits data).
* ``fill='random'``: the paper's loading rule (Sec. II.C, Algorithm 1), read per draw:
  random images are loaded while the batch's classes stay within ``batch_cl`` ("we
  strictly limit the total number of categories in each batch to ``batch_cl``"); a draw
  that would break that limit, or take the last of the ``batch_max`` slots without
  reaching ``batch_cl``, is discarded and another drawn, at most ``max_scan`` draws per
  batch; the batch closes once it holds ``batch_cl`` classes. Images need not add a class,
  so batches hold more images. Details:
  :mod:`~mmext.datasets.samplers.balance_batch_random_fill`. Steps 1, 4, 5 and 6 below
  hold for both; steps 2-3b describe the greedy fill.

Fixed-size mode (``fixed_size=True``, greedy fill only; the paper's experiments "fix the
batch size to 9"):
every batch holds exactly ``batch_max`` images. It is built as above until it holds
``batch_cl`` classes, then topped up (step 3b) to ``batch_max`` images.

Epoch plan (per rank, O(images), deterministic for ``(seed, epoch, world_size)``):

1. A permutation of the dataset (seeded by ``seed`` and ``epoch``) is dealt round-robin to
   the ranks, so ranks hold disjoint images.
2. On each rank the images form a random stream. The first not-yet-used image *seeds* the
   next batch. Fillers are taken from the stream ahead of a moving frontier: an image is
   accepted when it adds a new class, rejected otherwise (a rejected image stays unused
   and later seeds a batch of its own). This is the paper's random loading restricted to
   non-repeating categories.
3. Discard and reselect: when ``batch_max`` images (or ``max_scan`` looks at the stream)
   leave the batch short of ``batch_cl``, the fillers go back to the pool and the next
   attempt continues further down the stream, at most ``max_retries`` times. Then a
   bounded class-driven fill takes over: for a random missing class it draws up to
   ``fallback_candidates`` images of that class from the rank (already used images
   allowed) and adds the one adding the most classes. A batch still short after that is
   kept and counted in :attr:`epoch_stats` ``['short_batches']`` (never an endless loop).
3b. Fixed-size mode only: the batch is completed to exactly ``batch_max`` distinct images:
   first unused images that add a new class (among the next ``max_scan`` unused images of
   the stream), then any unused images in stream order; only when the rank has no unused
   image left (the end of the epoch, padding batches) already used images: those of
   missing classes first (the class-driven fill), then random ones (counted in
   ``epoch_stats['reused_fillers']``). Topping up only adds images (and possibly
   classes): a batch is short of ``batch_cl`` only if steps 2-3 left it short and the
   top-up did not complete it.
4. Every image is used at least once per epoch: each unused image eventually seeds a
   batch. Images that can add nothing new to other batches (e.g. only classes that every
   batch already holds, or no counted class at all) are exactly the ones that end up as
   seeds; images may appear again as fillers or in the class-driven fill.
5. Ranks get the same number of batches: every rank computes all ranks' plans (same
   seed, cheap) and ranks with fewer batches append class-driven batches seeded by random
   images of their own part. ``__len__`` is that common count for the current epoch.

6. ``__len__`` is the exact batch count of the current epoch's plan. Batch sizes vary, so
   that count differs slightly between epochs (see
   ``benchmarks/results/balance_batch_sampler.md``): an epoch-based schedule converted
   with ``convert_to_iter_based`` uses epoch 0's count. The paper's setting (and mmseg's)
   is iteration-based. :meth:`BalanceBatchSampler.mean_batch_size` gives the mean images
   per batch of an epoch plan (``batch_max`` in the fixed-size mode).

With an ``InfiniteSampler`` (iteration-based loops) the batch sampler yields the plans of
epochs ``0, 1, 2, ...`` one after another, forever.
"""

import logging
import random
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import InfiniteSampler
from mmengine.logging import print_log
from torch.utils.data import Sampler

from mmext.registry import DATA_SAMPLERS

from .balance_batch_plan import PartPlan, PlanConfig, greedy_max_cover
from .balance_batch_random_fill import RandomFillPlan
from .class_index import ClassIndex, build_class_index_distributed, resolve_class_ids
from .sampler_context import sampler_context

__all__ = ['BalanceBatchSampler', 'greedy_max_cover']

#: epoch-plan builder of each ``fill`` mode
FILLS = {'greedy': PartPlan, 'random': RandomFillPlan}


@DATA_SAMPLERS.register_module()
class BalanceBatchSampler(Sampler):
    """Batch sampler of Balance-batch (section II.C, Algorithm 1).

    Use it as ``train_dataloader.batch_sampler``; mmengine passes ``sampler`` and
    ``batch_size``. The given sampler (``DefaultSampler`` or ``InfiniteSampler``) supplies
    the dataset, rank, world size, seed and epoch; its own index order is not used. Set
    the epoch with ``set_epoch`` on either object (mmengine's ``DistSamplerSeedHook`` and
    the iteration loop call ``batch_sampler.sampler.set_epoch``).

    Args:
        sampler (Sampler): mmengine ``DefaultSampler`` / ``InfiniteSampler`` (any sampler
            with a ``dataset`` attribute works; ``InfiniteSampler`` makes the batch
            sampler infinite).
        batch_size (int): The dataloader's ``batch_size``; default of ``batch_max``.
        batch_cl (int): Distinct classes a batch must hold.
        batch_max (int, optional): Maximum images per batch. Defaults to ``batch_size``.
        exclude_classes (Sequence[int | str]): Classes not counted (ids or names, e.g.
            ``('background',)``). Defaults to ().
        ignore_index (int): Label-map value that is no class. Defaults to 255.
        max_retries (int): Discard-and-reselect attempts per batch before the
            class-driven fill (greedy fill). Defaults to 4.
        max_scan (int, optional): Stream images looked at per attempt (greedy fill); the
            bound of draws per batch, discarded ones included (random fill). Defaults to
            ``8 * batch_max + 32``.
        fallback_candidates (int): Images compared per step of the class-driven fill
            (greedy fill). Defaults to 8.
        seed (int, optional): Overrides the sampler's seed.
        cache_dir (str | bool, optional): Class-index cache folder (see
            :func:`build_class_index`); ``False`` disables the cache.
        num_workers (int, optional): Threads that decode label maps.
        class_index (ClassIndex, optional): A prebuilt index of the dataset (the
            exclusions are still applied).
        fixed_size (bool): Every batch holds exactly ``batch_max`` images and at least
            ``batch_cl`` classes (step 3b of the module docstring), as BatchNorm and
            ``auto_scale_lr`` expect. Needs ``batch_max`` <= the images of each rank.
            Defaults to False: a batch closes once it holds ``batch_cl`` classes.
        fill (str): How a batch is loaded (module docstring): ``'greedy'``, new-class
            fill with the class-driven fallback (the default, unchanged), or
            ``'random'``, the paper's random loading with per-draw discard and reselect
            (Sec. II.C, Algorithm 1; not with ``fixed_size``). Defaults to ``'greedy'``.

    Attributes:
        epoch_stats (Dict[str, int]): Of the last planned epoch: ``num_batches``,
            ``num_images`` (image slots), ``short_batches`` (fewer than ``batch_cl``
            classes), ``retries``, ``fallback_batches`` (class-driven fills),
            ``padded_batches`` (rank equalisation) and ``reused_fillers`` (fixed-size
            top-up slots given to already used images); with ``fill='random'`` also
            ``discards`` (rejected draws) and ``over_cl_batches`` (single images holding
            more than ``batch_cl`` classes).
    """

    def __init__(
        self,
        sampler: Sampler,
        batch_size: int,
        batch_cl: int,
        batch_max: Optional[int] = None,
        exclude_classes: Sequence[Union[int, str]] = (),
        ignore_index: int = 255,
        max_retries: int = 4,
        max_scan: Optional[int] = None,
        fallback_candidates: int = 8,
        seed: Optional[int] = None,
        cache_dir: Optional[Union[str, bool]] = None,
        num_workers: Optional[int] = None,
        class_index: Optional[ClassIndex] = None,
        fixed_size: bool = False,
        fill: str = 'greedy',
    ) -> None:
        context = sampler_context('BalanceBatchSampler', sampler, seed=seed)
        dataset = context.dataset
        self.sampler = sampler
        self.batch_max = int(batch_size if batch_max is None else batch_max)
        self.batch_cl = int(batch_cl)
        if self.batch_max < 1 or self.batch_cl < 1:
            raise ValueError(
                f'batch_max and batch_cl must be >= 1, got '
                f'batch_max={self.batch_max}, batch_cl={self.batch_cl}'
            )
        if max_retries < 1 or fallback_candidates < 1:
            raise ValueError('max_retries and fallback_candidates must be >= 1')
        self.max_retries = int(max_retries)
        self.max_scan = int(max_scan if max_scan is not None else 8 * self.batch_max + 32)
        self.fallback_candidates = int(fallback_candidates)
        self.fixed_size = bool(fixed_size)
        if fill not in FILLS:
            raise ValueError(f'fill must be one of {sorted(FILLS)}, got {fill!r}')
        if fill != 'greedy' and self.fixed_size:
            raise ValueError(f"fixed_size=True needs fill='greedy', got fill={fill!r}")
        self.fill = fill
        self.rank, self.world_size, self.seed = context[1:]
        self.shuffle = bool(getattr(sampler, 'shuffle', True))
        self.infinite = isinstance(sampler, InfiniteSampler)
        self._epoch = 0

        if class_index is None:
            class_index = self._build_index(dataset, ignore_index, cache_dir, num_workers)
        elif len(class_index) != len(dataset):
            raise ValueError(
                f'class_index has {len(class_index)} images, the dataset {len(dataset)}'
            )
        names = (getattr(dataset, 'metainfo', None) or {}).get('classes', ())
        self.exclude_classes = resolve_class_ids(exclude_classes, names)
        self.index = class_index.without(self.exclude_classes)
        if len(self.index) < self.world_size:
            raise ValueError(f'{len(self.index)} images cannot feed {self.world_size} ranks')
        self._check_feasible()
        self._masks = [
            sum(1 << c for c in row) for row in (r.tolist() for r in self.index.image_classes)
        ]
        self._cache: Optional[Tuple[int, List[List[int]]]] = None
        self.epoch_stats: Dict[str, int] = {}

    # ------------------------------------------------------------------ setup
    def _build_index(
        self,
        dataset,
        ignore_index: int,
        cache_dir: Optional[Union[str, bool]],
        num_workers: Optional[int],
    ) -> ClassIndex:
        """Rank 0 builds (and caches) the index first; the other ranks then load it.

        A failure on any rank makes every rank raise instead of waiting (see
        :func:`~mmext.datasets.samplers.class_index.build_class_index_distributed`).
        """
        return build_class_index_distributed(
            dataset,
            self.rank,
            self.world_size,
            ignore_index=ignore_index,
            cache_dir=cache_dir,
            num_workers=num_workers,
        )

    def _check_feasible(self) -> None:
        """Raise when no batch of ``batch_max`` images can hold ``batch_cl`` classes, or
        (fixed size) a rank holds fewer than ``batch_max`` images."""
        present = len(self.index.classes_present())
        excl = f' (excluded: {self.exclude_classes})' if self.exclude_classes else ''
        if self.batch_cl > present:
            raise ValueError(
                f'batch_cl={self.batch_cl} but only {present} distinct classes{excl} occur '
                f'in the {len(self.index)} images of the dataset'
            )
        greedy, bound = greedy_max_cover(self.index, self.batch_max)
        if greedy < self.batch_cl:
            raise ValueError(
                f'batch_cl={self.batch_cl}: no batch of batch_max={self.batch_max} images '
                f'holding {self.batch_cl} classes{excl} was found (the greedy best batch '
                f'holds {greedy} classes, no batch can hold more than {bound}); lower '
                'batch_cl or raise batch_max'
            )
        smallest = len(self.index) // self.world_size
        if self.fixed_size and self.batch_max > smallest:
            raise ValueError(
                f'fixed_size: batch_max={self.batch_max} images per batch, but the '
                f'smallest rank part holds {smallest} images ({len(self.index)} images '
                f'over {self.world_size} ranks); lower batch_max'
            )

    # ------------------------------------------------------------------ epochs
    @property
    def epoch(self) -> int:
        """int: The current epoch (the sampler's when it tracks one)."""
        return int(getattr(self.sampler, 'epoch', self._epoch))

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of this batch sampler and of its sampler.

        Args:
            epoch (int): Epoch number.
        """
        self._epoch = int(epoch)
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
        if hasattr(self.sampler, 'epoch'):
            self.sampler.epoch = int(epoch)

    def __iter__(self) -> Iterator[List[int]]:
        epoch = self.epoch
        while True:
            yield from self.plan(epoch)
            if not self.infinite:
                return
            epoch += 1

    def __len__(self) -> int:
        """Batches per rank in the current epoch (equal on every rank)."""
        return len(self.plan(self.epoch))

    # ------------------------------------------------------------------ planning
    def plan(self, epoch: int) -> List[List[int]]:
        """The batches (dataset indices) of this rank for ``epoch`` (cached).

        Args:
            epoch (int): Epoch number.

        Returns:
            List[List[int]]: Batches of this rank.
        """
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        n = len(self.index)
        if self.shuffle:
            perm = np.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            perm = np.arange(n)
        parts = [perm[r :: self.world_size] for r in range(self.world_size)]
        cfg = PlanConfig(
            self.batch_max,
            self.batch_cl,
            self.max_retries,
            self.max_scan,
            self.fallback_candidates,
            self.fixed_size,
        )
        plan_cls = FILLS[self.fill]
        plans = [
            plan_cls(part, self._masks, self.index, cfg, random.Random(f'{self.seed}:{epoch}:{r}'))
            for r, part in enumerate(parts)
        ]
        built = [p.build() for p in plans]
        target = max(len(b) for b in built)
        own = plans[self.rank]
        rng = random.Random(f'{self.seed}:{epoch}:{self.rank}:pad')
        padded = []
        for _ in range(target - len(built[self.rank])):
            batch, short = own.pad_batch(rng)
            padded.append(batch)
            own.stats['short_batches'] += short
        batches = built[self.rank] + padded
        stats = dict(
            own.stats,
            padded_batches=len(padded),
            num_batches=target,
            num_images=sum(len(b) for b in batches),
        )
        if stats['short_batches']:
            print_log(
                f'BalanceBatchSampler: {stats["short_batches"]}/{target} batches of '
                f'epoch {epoch} hold fewer than batch_cl={self.batch_cl} classes',
                logger='current',
                level=logging.WARNING,
            )
        self.epoch_stats = stats
        self._cache = (epoch, batches)
        return batches

    def mean_batch_size(self, epoch: Optional[int] = None) -> float:
        """Mean images per batch of this rank's plan for ``epoch``.

        Args:
            epoch (int, optional): Epoch number; defaults to the current epoch.

        Returns:
            float: ``sum(len(b)) / len(plan)`` (exactly ``batch_max`` with
            ``fixed_size``).
        """
        batches = self.plan(self.epoch if epoch is None else int(epoch))
        return sum(len(b) for b in batches) / len(batches)
