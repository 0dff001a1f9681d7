"""Balance-batch (Huang et al., "Balance-batch", section II.C and Algorithm 1).

A batch holds at most ``batch_max`` images and is complete once it holds ``batch_cl``
distinct ("non-repeating") classes; every image added after the first contributes at least
one class the batch does not hold yet. A batch that reaches ``batch_max`` images short of
``batch_cl`` classes is discarded and reselected.

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
   is iteration-based.

With an ``InfiniteSampler`` (iteration-based loops) the batch sampler yields the plans of
epochs ``0, 1, 2, ...`` one after another, forever.
"""
import random
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import InfiniteSampler
from mmengine.dist import broadcast_object_list, get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from mmext.registry import DATA_SAMPLERS
from .class_index import ClassIndex, build_class_index, resolve_class_ids


def greedy_max_cover(index: ClassIndex, k: int) -> Tuple[int, int]:
    """Classes covered by ``k`` images chosen greedily, and a simple upper bound.

    Args:
        index (ClassIndex): Per-image classes.
        k (int): Number of images.

    Returns:
        Tuple[int, int]: ``(greedy, bound)``: classes the greedy batch covers, and the
        sum of the ``k`` largest per-image class counts capped by the classes present.
    """
    sizes = np.diff(index.offsets)
    present = len(index.classes_present())
    bound = int(min(present, np.sort(sizes)[::-1][:k].sum()))
    covered = np.zeros(index.num_classes, dtype=bool)
    owners = index.image_ids()
    for _ in range(k):
        gains = np.bincount(owners[~covered[index.classes]], minlength=len(index))
        best = int(gains.argmax())
        if gains[best] == 0:
            break
        covered[index.image_classes[best]] = True
    return int(covered.sum()), bound


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
            class-driven fill. Defaults to 4.
        max_scan (int, optional): Stream images looked at per attempt. Defaults to
            ``8 * batch_max + 32``.
        fallback_candidates (int): Images compared per step of the class-driven fill.
            Defaults to 8.
        seed (int, optional): Overrides the sampler's seed.
        cache_dir (str | bool, optional): Class-index cache folder (see
            :func:`build_class_index`); ``False`` disables the cache.
        num_workers (int, optional): Threads that decode label maps.
        class_index (ClassIndex, optional): A prebuilt index of the dataset (the
            exclusions are still applied).
    """

    def __init__(self,
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
                 class_index: Optional[ClassIndex] = None) -> None:
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None:
            raise TypeError('BalanceBatchSampler needs a sampler with a `dataset` '
                            f'attribute (DefaultSampler/InfiniteSampler), got {sampler!r}')
        self.sampler = sampler
        self.batch_max = int(batch_size if batch_max is None else batch_max)
        self.batch_cl = int(batch_cl)
        if self.batch_max < 1 or self.batch_cl < 1:
            raise ValueError(f'batch_max and batch_cl must be >= 1, got '
                             f'batch_max={self.batch_max}, batch_cl={self.batch_cl}')
        if max_retries < 1 or fallback_candidates < 1:
            raise ValueError('max_retries and fallback_candidates must be >= 1')
        self.max_retries = int(max_retries)
        self.max_scan = int(max_scan if max_scan is not None else 8 * self.batch_max + 32)
        self.fallback_candidates = int(fallback_candidates)
        dist_rank, dist_world = get_dist_info()
        self.rank = int(getattr(sampler, 'rank', dist_rank))
        self.world_size = int(getattr(sampler, 'world_size', dist_world))
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        self.seed = int(sync_random_seed() if seed is None else seed) & 0xFFFFFFFF
        self.shuffle = bool(getattr(sampler, 'shuffle', True))
        self.infinite = isinstance(sampler, InfiniteSampler)
        self._epoch = 0

        if class_index is None:
            class_index = self._build_index(dataset, ignore_index, cache_dir, num_workers)
        elif len(class_index) != len(dataset):
            raise ValueError(f'class_index has {len(class_index)} images, the dataset '
                             f'{len(dataset)}')
        names = (getattr(dataset, 'metainfo', None) or {}).get('classes', ())
        self.exclude_classes = resolve_class_ids(exclude_classes, names)
        self.index = class_index.without(self.exclude_classes)
        if len(self.index) < self.world_size:
            raise ValueError(f'{len(self.index)} images cannot feed {self.world_size} ranks')
        self._check_feasible()
        self._masks = [sum(1 << c for c in row) for row in
                       (r.tolist() for r in self.index.image_classes)]
        self._cache: Optional[Tuple[int, List[List[int]]]] = None
        self._by_class_cache: Optional[tuple] = None
        self.epoch_stats: Dict[str, int] = {}

    # ------------------------------------------------------------------ setup
    def _build_index(self, dataset, ignore_index: int,
                     cache_dir: Optional[Union[str, bool]],
                     num_workers: Optional[int]) -> ClassIndex:
        """Rank 0 builds (and caches) the index first; the other ranks then load it.

        A failure on rank 0 is broadcast, so the other ranks raise too instead of waiting.
        """
        kwargs = dict(ignore_index=ignore_index, cache_dir=cache_dir,
                      num_workers=num_workers)
        if self.world_size > 1 and cache_dir is not False:
            index, status = None, [None]
            if self.rank == 0:
                try:
                    index = build_class_index(dataset, **kwargs)
                except Exception as e:  # noqa: BLE001  (re-raised below on every rank)
                    status = [f'{type(e).__name__}: {e}']
                    error = e
            broadcast_object_list(status, src=0)  # also the barrier before loading
            if status[0] is not None:
                if self.rank == 0:
                    raise error
                raise RuntimeError(f'rank 0 failed to build the class index: {status[0]}')
            if self.rank != 0:
                index = build_class_index(dataset, progress=False, **kwargs)
            return index
        return build_class_index(dataset, progress=self.rank == 0, **kwargs)

    def _check_feasible(self) -> None:
        """Raise when no batch of ``batch_max`` images can hold ``batch_cl`` classes."""
        present = len(self.index.classes_present())
        excl = f' (excluded: {self.exclude_classes})' if self.exclude_classes else ''
        if self.batch_cl > present:
            raise ValueError(
                f'batch_cl={self.batch_cl} but only {present} distinct classes{excl} occur '
                f'in the {len(self.index)} images of the dataset')
        greedy, bound = greedy_max_cover(self.index, self.batch_max)
        if greedy < self.batch_cl:
            raise ValueError(
                f'batch_cl={self.batch_cl}: no batch of batch_max={self.batch_max} images '
                f'holding {self.batch_cl} classes{excl} was found (the greedy best batch '
                f'holds {greedy} classes, no batch can hold more than {bound}); lower '
                'batch_cl or raise batch_max')

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
        parts = [perm[r::self.world_size] for r in range(self.world_size)]
        built = [self._plan_part(part.tolist(), random.Random(f'{self.seed}:{epoch}:{r}'))
                 for r, part in enumerate(parts)]
        target = max(len(b) for b, _ in built)
        batches, stats = built[self.rank]
        own = [self._masks[i] for i in parts[self.rank].tolist()]
        rng = random.Random(f'{self.seed}:{epoch}:{self.rank}:pad')
        padded = []
        for _ in range(target - len(batches)):
            pos, short = self._class_fill([rng.randrange(len(own))], own,
                                          parts[self.rank], rng)
            padded.append([int(parts[self.rank][p]) for p in pos])
            stats['short_batches'] += short
        stats['padded_batches'] = len(padded)
        stats['num_batches'] = target
        batches = batches + padded
        if stats['short_batches']:
            print_log(f'BalanceBatchSampler: {stats["short_batches"]}/{target} batches of '
                      f'epoch {epoch} hold fewer than batch_cl={self.batch_cl} classes',
                      logger='current', level=30)
        self.epoch_stats = stats
        self._cache = (epoch, batches)
        return batches

    def _plan_part(self, imgs: List[int],
                   rng: random.Random) -> Tuple[List[List[int]], Dict[str, int]]:
        """Batches of one rank's image stream (steps 2-4 of the module docstring)."""
        masks = [self._masks[i] for i in imgs]
        n = len(imgs)
        nxt = list(range(n + 1))  # nxt[i] == i: unused; else a hop towards the next one

        def find(i: int) -> int:
            r = i
            while nxt[r] != r:
                r = nxt[r]
            while nxt[i] != r:
                nxt[i], i = r, nxt[i]
            return r

        bmax, bcl, max_scan = self.batch_max, self.batch_cl, self.max_scan
        batches: List[List[int]] = []
        stats = dict(short_batches=0, retries=0, fallback_batches=0)
        part = None
        p = f = 0
        while True:
            s = find(p)
            if s >= n:
                break
            nxt[s] = s + 1
            p = s + 1
            smask = masks[s]
            if smask.bit_count() >= bcl or bmax == 1:
                batches.append([imgs[s]])
                stats['short_batches'] += smask.bit_count() < bcl
                continue
            members: List[int] = []
            for attempt in range(self.max_retries):
                bmask, members, looked = smask, [s], 0
                q = find(max(f, p))
                while q < n and looked < max_scan:
                    looked += 1
                    m = masks[q]
                    if m & ~bmask:
                        members.append(q)
                        bmask |= m
                        if len(members) == bmax or bmask.bit_count() >= bcl:
                            q = find(q + 1)
                            break
                    q = find(q + 1)
                if bmask.bit_count() >= bcl:
                    f = q
                    break
                stats['retries'] += 1
                f = p if q >= n else q  # stream exhausted: look at the rejects again
                members = []
            if members:
                for q in members[1:]:
                    nxt[q] = q + 1
                batches.append([imgs[q] for q in members])
                continue
            if part is None:
                part = np.asarray(imgs)
            pos, short = self._class_fill([s], masks, part, rng)
            for q in pos[1:]:
                if nxt[q] == q:
                    nxt[q] = q + 1
            batches.append([imgs[q] for q in pos])
            stats['fallback_batches'] += 1
            stats['short_batches'] += short
        return batches, stats

    def _class_fill(self, start: List[int], masks: List[int], part: np.ndarray,
                    rng: random.Random) -> Tuple[List[int], int]:
        """Bounded class-driven fill of a batch (step 3); positions index ``part``.

        Returns:
            Tuple[List[int], int]: Batch positions and 1 if it is short of ``batch_cl``.
        """
        by_class = self._positions_by_class(part)
        present = list(by_class)
        members = list(start)
        bmask = 0
        for q in members:
            bmask |= masks[q]
        while len(members) < self.batch_max and bmask.bit_count() < self.batch_cl:
            missing = [c for c in present if not (bmask >> c) & 1]
            if not missing:
                break
            best, best_gain = -1, 0
            for _ in range(self.fallback_candidates):
                cands = by_class[missing[rng.randrange(len(missing))]]
                q = int(cands[rng.randrange(len(cands))])
                gain = (masks[q] & ~bmask).bit_count()
                if gain > best_gain:
                    best, best_gain = q, gain
            members.append(best)
            bmask |= masks[best]
        return members, int(bmask.bit_count() < self.batch_cl)

    def _positions_by_class(self, part: np.ndarray) -> Dict[int, np.ndarray]:
        """Positions in ``part`` of the images of each class present in it (cached)."""
        cached = self._by_class_cache
        if cached is not None and cached[0] is part:
            return cached[1]
        idx = self.index
        sizes = np.diff(idx.offsets)[part]
        pos = np.repeat(np.arange(len(part)), sizes)
        starts = idx.offsets[part]
        flat = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes) \
            + np.arange(sizes.sum())
        cls = idx.classes[flat]
        order = np.argsort(cls, kind='stable')
        cls, pos = cls[order], pos[order]
        bounds = np.flatnonzero(np.diff(cls)) + 1
        groups = {int(c[0]): p for c, p in zip(np.split(cls, bounds), np.split(pos, bounds))
                  if len(c)}
        self._by_class_cache = (part, groups)
        return groups
