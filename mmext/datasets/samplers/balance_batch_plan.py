"""Epoch-plan building blocks of :class:`~.BalanceBatchSampler` (one rank's part).

The algorithm is stated once, in the module docstring of
:mod:`mmext.datasets.samplers.balance_batch_sampler` (steps 1-6); here each step is one
method of :class:`PartPlan`:

* :meth:`PartPlan.build` walks the stream: every unused image seeds a batch (steps 2, 4);
* :meth:`PartPlan._select_stream_fillers` / :meth:`PartPlan._scan_stream`: new-class
  fillers from the stream, discard and reselect (steps 2-3);
* :meth:`PartPlan.class_fill`: the bounded class-driven fill (step 3);
* :meth:`PartPlan.top_up`: the fixed-size completion to ``batch_max`` images (step 3b);
* :meth:`PartPlan.pad_batch`: the batches that equalise the ranks' counts (step 5).

Classes are bit masks (bit ``c`` set when the image holds class ``c``); positions index
the rank's part of the epoch permutation.
"""

import random
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

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
    flat = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes) + np.arange(
        sizes.sum()
    )
    cls = index.classes[flat]
    order = np.argsort(cls, kind='stable')
    cls, pos = cls[order], pos[order]
    bounds = np.flatnonzero(np.diff(cls)) + 1
    return {int(c[0]): p for c, p in zip(np.split(cls, bounds), np.split(pos, bounds)) if len(c)}


class PartPlan:
    """The batches of one rank's part of an epoch.

    Positions index the part (its stream order). A position is *unused* until it joins a
    batch; :meth:`first_unused` finds the next unused position in near-constant time
    through ``_skip``, a path-compressed "next candidate" pointer per position (a
    union-find over the used runs).

    Args:
        part (np.ndarray): Dataset indices of the part, in stream order.
        masks (List[int]): Class bit mask of every dataset image.
        index (ClassIndex): Per-image classes (for the class-driven fill).
        cfg (PlanConfig): Plan settings.
        rng (random.Random): Generator of the class-driven fill and of the reused
            fillers of this part.
    """

    def __init__(
        self,
        part: np.ndarray,
        masks: List[int],
        index: ClassIndex,
        cfg: PlanConfig,
        rng: random.Random,
    ) -> None:
        self.part = part
        self.imgs: List[int] = part.tolist()
        self.masks = [masks[i] for i in self.imgs]
        self.index = index
        self.cfg = cfg
        self.rng = rng
        # _skip[i] == i: position i is unused; else a hop towards the next unused one
        self._skip = list(range(len(self.imgs) + 1))
        # where the next stream scan for fillers starts (moves past accepted fillers)
        self._frontier = 0
        self.stats: Dict[str, int] = dict(
            short_batches=0, retries=0, fallback_batches=0, reused_fillers=0
        )
        self._by_class: Optional[Dict[int, np.ndarray]] = None

    # ------------------------------------------------------------------ used positions
    def first_unused(self, pos: int) -> int:
        """First unused position ``>= pos`` (``len(part)`` when none), path-compressed."""
        skip, root = self._skip, pos
        while skip[root] != root:
            root = skip[root]
        while skip[pos] != root:
            skip[pos], pos = root, skip[pos]
        return root

    def is_unused(self, pos: int) -> bool:
        """Whether position ``pos`` has not joined a batch yet."""
        return self._skip[pos] == pos

    def mark_used(self, positions: Sequence[int]) -> None:
        """Mark the still unused ones of ``positions`` as used."""
        skip = self._skip
        for pos in positions:
            if skip[pos] == pos:
                skip[pos] = pos + 1

    def _is_complete(self, members: List[int], mask: int) -> bool:
        """A batch closes at ``batch_max`` images or ``batch_cl`` classes."""
        return len(members) == self.cfg.batch_max or mask.bit_count() >= self.cfg.batch_cl

    # ------------------------------------------------------------------ the stream
    def build(self) -> List[List[int]]:
        """Batches (dataset indices) of the stream, steps 2-4 of the sampler docstring.

        Every unused position in stream order seeds a batch (so every image is used), which
        is then filled by :meth:`_fill_batch`.

        Returns:
            List[List[int]]: The batches; :attr:`stats` counts short, retried, filled and
            reused.
        """
        batches: List[List[int]] = []
        self._frontier = 0
        seed = self.first_unused(0)
        while seed < len(self.imgs):
            self.mark_used([seed])
            members, mask = self._fill_batch(seed)
            self.stats['short_batches'] += mask.bit_count() < self.cfg.batch_cl
            batches.append([self.imgs[pos] for pos in members])
            seed = self.first_unused(seed + 1)
        return batches

    def _fill_batch(self, seed: int) -> Tuple[List[int], int]:
        """Fillers for the batch seeded at ``seed``: stream fillers (steps 2-3), else the
        class-driven fill (step 3), then the fixed-size top-up (step 3b).

        Args:
            seed (int): Position of the seed image (already marked used).

        Returns:
            Tuple[List[int], int]: Positions of the batch (seed first) and its class mask.
        """
        members, mask = [seed], self.masks[seed]
        if mask.bit_count() < self.cfg.batch_cl and self.cfg.batch_max > 1:
            selected = self._select_stream_fillers(seed)
            if selected is not None:
                members, mask = selected
            else:
                mask = self.class_fill(members, mask, self.rng)
                self.stats['fallback_batches'] += 1
            self.mark_used(members[1:])
        if self.cfg.fixed_size and len(members) < self.cfg.batch_max:
            mask = self.top_up(members, mask, seed + 1, self.rng)
        return members, mask

    def _select_stream_fillers(self, seed: int) -> Optional[Tuple[List[int], int]]:
        """Discard and reselect (step 3): up to ``max_retries`` scans of the stream.

        A scan that reaches ``batch_cl`` classes is accepted and the frontier moves past
        it. A failed scan is discarded (its fillers stay unused) and the next one starts
        where it stopped, or back right after the seed once the stream is exhausted.

        Args:
            seed (int): Position of the seed image.

        Returns:
            Tuple[List[int], int] | None: Positions (seed first) and class mask of the
            accepted batch, or None when every scan fell short.
        """
        for _ in range(self.cfg.max_retries):
            after_seed = seed + 1
            members, mask, stop = self._scan_stream(seed, max(self._frontier, after_seed))
            if mask.bit_count() >= self.cfg.batch_cl:
                self._frontier = stop
                return members, mask
            self.stats['retries'] += 1
            self._frontier = after_seed if stop >= len(self.imgs) else stop
        return None

    def _scan_stream(self, seed: int, start: int) -> Tuple[List[int], int, int]:
        """One scan: unused images from ``start`` that add a new class join the batch.

        The scan looks at no more than ``max_scan`` unused images and stops early once the
        batch is complete (:meth:`_is_complete`). Nothing is marked used.

        Args:
            seed (int): Position of the seed image.
            start (int): Position from which the stream is scanned.

        Returns:
            Tuple[List[int], int, int]: Positions (seed first), class mask, and the first
            unused position after the last one looked at.
        """
        members, mask = [seed], self.masks[seed]
        pos, looked = self.first_unused(start), 0
        while pos < len(self.imgs) and looked < self.cfg.max_scan:
            looked += 1
            if self.masks[pos] & ~mask:
                members.append(pos)
                mask |= self.masks[pos]
            pos = self.first_unused(pos + 1)
            if self._is_complete(members, mask):
                break
        return members, mask, pos

    # ------------------------------------------------------------------ fills
    def class_fill(
        self, members: List[int], mask: int, rng: random.Random, until_batch_cl: bool = True
    ) -> int:
        """Bounded class-driven fill (step 3): append images holding missing classes.

        For a random missing class, up to ``fallback_candidates`` images of that class
        (used ones allowed) are compared and the one adding the most classes is appended,
        until ``batch_max`` images, no missing class, or (``until_batch_cl``) ``batch_cl``
        classes.

        Args:
            members (List[int]): Positions of the batch, extended in place.
            mask (int): Class mask of ``members``.
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
            not until_batch_cl or mask.bit_count() < cfg.batch_cl
        ):
            missing = [c for c in present if not (mask >> c) & 1]
            if not missing:
                break
            best, best_gain = -1, 0
            for _ in range(cfg.fallback_candidates):
                candidates = by_class[missing[rng.randrange(len(missing))]]
                pos = int(candidates[rng.randrange(len(candidates))])
                gain = (masks[pos] & ~mask).bit_count()
                if gain > best_gain:
                    best, best_gain = pos, gain
            members.append(best)
            mask |= masks[best]
        return mask

    def top_up(self, members: List[int], mask: int, start: int, rng: random.Random) -> int:
        """Fixed-size mode (step 3b): complete a batch to exactly ``batch_max`` images.

        Unused images first (those adding a class among the next ``max_scan`` unused ones
        from ``start``, then any in stream order), used ones only when none is left (the
        class-driven fill, then random ones, counted in ``reused_fillers``).

        Args:
            members (List[int]): Positions of the batch (all marked used), extended in
                place.
            mask (int): Class mask of ``members``.
            start (int): Position from which the unused images are scanned.
            rng (random.Random): Generator of the used-image fill.

        Returns:
            int: The new class mask.
        """
        mask = self._top_up_unused(members, mask, start)
        if len(members) < self.cfg.batch_max:
            before = len(members)
            mask = self.class_fill(members, mask, rng, until_batch_cl=False)
            mask = self._top_up_random(members, mask, rng)
            self.stats['reused_fillers'] += len(members) - before
        return mask

    def _top_up_unused(self, members: List[int], mask: int, start: int) -> int:
        """Append unused images (marked used): class-adding ones first, then plain ones."""
        masks, batch_max = self.masks, self.cfg.batch_max
        plain: List[int] = []
        pos, looked = self.first_unused(start), 0
        while pos < len(masks) and looked < self.cfg.max_scan and len(members) < batch_max:
            looked += 1
            if masks[pos] & ~mask:
                members.append(pos)
                mask |= masks[pos]
                self.mark_used([pos])
            elif len(members) + len(plain) < batch_max:
                plain.append(pos)
            pos = self.first_unused(pos + 1)
        for pos in plain[: batch_max - len(members)]:
            members.append(pos)
            mask |= masks[pos]
            self.mark_used([pos])
        return mask

    def _top_up_random(self, members: List[int], mask: int, rng: random.Random) -> int:
        """Append random distinct positions (used ones allowed) up to ``batch_max``."""
        num = len(self.masks)  # num >= batch_max is checked by the sampler
        taken = set(members)
        while len(members) < self.cfg.batch_max:
            pos = rng.randrange(num)
            while pos in taken:
                pos = (pos + 1) % num
            members.append(pos)
            taken.add(pos)
            mask |= self.masks[pos]
        return mask

    # ------------------------------------------------------------------ rank balance
    def pad_batch(self, rng: random.Random) -> Tuple[List[int], bool]:
        """A batch that equalises the ranks' counts (step 5), seeded by a random image.

        Args:
            rng (random.Random): Generator of the padding batches.

        Returns:
            Tuple[List[int], bool]: Dataset indices, and whether it is short of
            ``batch_cl`` classes.
        """
        members = [rng.randrange(len(self.imgs))]
        mask = self.class_fill(members, self.masks[members[0]], rng)
        if self.cfg.fixed_size and len(members) < self.cfg.batch_max:
            mask = self.top_up(members, mask, len(self.imgs), rng)
        return [self.imgs[pos] for pos in members], mask.bit_count() < self.cfg.batch_cl
