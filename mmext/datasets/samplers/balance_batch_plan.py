"""Epoch-plan building blocks of :class:`~.BalanceBatchSampler` (one rank's part).

The steps are those of the sampler's module docstring: :meth:`PartPlan.build` runs the
stream (seeds, new-class fillers, discard and reselect), :meth:`PartPlan.class_fill` is the
bounded class-driven fill, :meth:`PartPlan.top_up` completes a batch to exactly
``batch_max`` images in the fixed-size mode and :meth:`PartPlan.pad_batch` makes the
batches that equalise the ranks' batch counts. Classes are bit masks (bit ``c`` set when
the image holds class ``c``); positions index the rank's part of the epoch permutation.
"""
import random
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from .class_index import ClassIndex


class PlanConfig(NamedTuple):
    """Settings of an epoch plan (see :class:`~.BalanceBatchSampler`)."""

    batch_max: int
    batch_cl: int
    max_retries: int
    max_scan: int
    fallback_candidates: int
    fixed_size: bool


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


def positions_by_class(index: ClassIndex, part: np.ndarray) -> Dict[int, np.ndarray]:
    """Positions in ``part`` of the images of each class present in it.

    Args:
        index (ClassIndex): Per-image classes of the dataset.
        part (np.ndarray): Dataset indices of the rank's part.

    Returns:
        Dict[int, np.ndarray]: Class id to sorted positions, classes in increasing order.
    """
    sizes = np.diff(index.offsets)[part]
    pos = np.repeat(np.arange(len(part)), sizes)
    starts = index.offsets[part]
    flat = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes) \
        + np.arange(sizes.sum())
    cls = index.classes[flat]
    order = np.argsort(cls, kind='stable')
    cls, pos = cls[order], pos[order]
    bounds = np.flatnonzero(np.diff(cls)) + 1
    return {int(c[0]): p for c, p in zip(np.split(cls, bounds), np.split(pos, bounds))
            if len(c)}


class PartPlan:
    """The batches of one rank's part of an epoch.

    Args:
        part (np.ndarray): Dataset indices of the part, in stream order.
        masks (List[int]): Class bit mask of every dataset image.
        index (ClassIndex): Per-image classes (for the class-driven fill).
        cfg (PlanConfig): Plan settings.
        rng (random.Random): Generator of the class-driven fill and of the reused
            fillers of this part.
    """

    def __init__(self, part: np.ndarray, masks: List[int], index: ClassIndex,
                 cfg: PlanConfig, rng: random.Random) -> None:
        self.part = part
        self.imgs: List[int] = part.tolist()
        self.masks = [masks[i] for i in self.imgs]
        self.index = index
        self.cfg = cfg
        self.rng = rng
        # nxt[i] == i: position i is unused; else a hop towards the next unused one
        self.nxt = list(range(len(self.imgs) + 1))
        self.stats: Dict[str, int] = dict(short_batches=0, retries=0, fallback_batches=0,
                                          reused_fillers=0)
        self._by_class: Optional[Dict[int, np.ndarray]] = None

    def find(self, i: int) -> int:
        """First unused position ``>= i`` (``len(part)`` when none), path-compressed."""
        nxt, r = self.nxt, i
        while nxt[r] != r:
            r = nxt[r]
        while nxt[i] != r:
            nxt[i], i = r, nxt[i]
        return r

    def build(self) -> List[List[int]]:
        """Batches (dataset indices) of the stream, steps 2-4 of the sampler docstring.

        Returns:
            List[List[int]]: The batches; :attr:`stats` counts short, retried, filled and
            reused.
        """
        imgs, masks, nxt, find = self.imgs, self.masks, self.nxt, self.find
        n = len(imgs)
        bmax, bcl, max_scan = self.cfg.batch_max, self.cfg.batch_cl, self.cfg.max_scan
        stats = self.stats
        batches: List[List[int]] = []
        p = f = 0
        while True:
            s = find(p)
            if s >= n:
                break
            nxt[s] = s + 1
            p = s + 1
            bmask = masks[s]
            members: List[int] = [s]
            if bmask.bit_count() < bcl and bmax > 1:
                for _ in range(self.cfg.max_retries):
                    bmask, members, looked = masks[s], [s], 0
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
                else:
                    members = [s]
                    bmask = self.class_fill(members, masks[s], self.rng)
                    for q in members[1:]:
                        if nxt[q] == q:
                            nxt[q] = q + 1
                    stats['fallback_batches'] += 1
            if self.cfg.fixed_size and len(members) < bmax:
                bmask = self.top_up(members, bmask, p, self.rng)
            stats['short_batches'] += bmask.bit_count() < bcl
            batches.append([imgs[q] for q in members])
        return batches

    def class_fill(self, members: List[int], bmask: int, rng: random.Random,
                   until_batch_cl: bool = True) -> int:
        """Bounded class-driven fill (step 3): append images holding missing classes.

        For a random missing class, up to ``fallback_candidates`` images of that class
        (used ones allowed) are compared and the one adding the most classes is appended,
        until ``batch_max`` images, no missing class, or (``until_batch_cl``) ``batch_cl``
        classes.

        Args:
            members (List[int]): Positions of the batch, extended in place.
            bmask (int): Class mask of ``members``.
            rng (random.Random): Generator of the draws.
            until_batch_cl (bool): Stop once the batch holds ``batch_cl`` classes.

        Returns:
            int: The new class mask.
        """
        if self._by_class is None:
            self._by_class = positions_by_class(self.index, self.part)
        by_class, masks, cfg = self._by_class, self.masks, self.cfg
        present = list(by_class)
        while len(members) < cfg.batch_max and (
                not until_batch_cl or bmask.bit_count() < cfg.batch_cl):
            missing = [c for c in present if not (bmask >> c) & 1]
            if not missing:
                break
            best, best_gain = -1, 0
            for _ in range(cfg.fallback_candidates):
                cands = by_class[missing[rng.randrange(len(missing))]]
                q = int(cands[rng.randrange(len(cands))])
                gain = (masks[q] & ~bmask).bit_count()
                if gain > best_gain:
                    best, best_gain = q, gain
            members.append(best)
            bmask |= masks[best]
        return bmask

    def top_up(self, members: List[int], bmask: int, start: int,
               rng: random.Random) -> int:
        """Fixed-size mode: complete a batch to exactly ``batch_max`` distinct images.

        1. Among the next ``max_scan`` unused images from ``start`` (everything before it
           is used), those adding a new class, in stream order; then the first unused
           ones that add none.
        2. Only when no unused image is left: used images, first by the class-driven
           fill (new classes), then random ones (counted in ``reused_fillers``).

        Args:
            members (List[int]): Positions of the batch (all marked used), extended in
                place.
            bmask (int): Class mask of ``members``.
            start (int): Position from which the unused images are scanned.
            rng (random.Random): Generator of step 2.

        Returns:
            int: The new class mask.
        """
        masks, nxt, n = self.masks, self.nxt, len(self.masks)
        bmax = self.cfg.batch_max
        plain: List[int] = []
        q, looked = self.find(start), 0
        while q < n and looked < self.cfg.max_scan and len(members) < bmax:
            looked += 1
            if masks[q] & ~bmask:
                members.append(q)
                bmask |= masks[q]
                nxt[q] = q + 1
            elif len(members) + len(plain) < bmax:
                plain.append(q)
            q = self.find(q + 1)
        for q in plain[:bmax - len(members)]:
            members.append(q)
            bmask |= masks[q]
            nxt[q] = q + 1
        if len(members) < bmax:
            before = len(members)
            bmask = self.class_fill(members, bmask, rng, until_batch_cl=False)
            taken = set(members)
            while len(members) < bmax:  # n >= batch_max is checked by the sampler
                q = rng.randrange(n)
                while q in taken:
                    q = (q + 1) % n
                members.append(q)
                taken.add(q)
                bmask |= masks[q]
            self.stats['reused_fillers'] += len(members) - before
        return bmask

    def pad_batch(self, rng: random.Random) -> Tuple[List[int], bool]:
        """A batch that equalises the ranks' counts (step 5), seeded by a random image.

        Args:
            rng (random.Random): Generator of the padding batches.

        Returns:
            Tuple[List[int], bool]: Dataset indices, and whether it is short of
            ``batch_cl`` classes.
        """
        members = [rng.randrange(len(self.imgs))]
        bmask = self.class_fill(members, self.masks[members[0]], rng)
        if self.cfg.fixed_size and len(members) < self.cfg.batch_max:
            bmask = self.top_up(members, bmask, len(self.imgs), rng)
        return [self.imgs[q] for q in members], bmask.bit_count() < self.cfg.batch_cl
