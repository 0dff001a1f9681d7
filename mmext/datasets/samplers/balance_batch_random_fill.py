"""The paper's loading rule for :class:`~.BalanceBatchSampler` (``fill='random'``).

Balance-batch, Sec. II.C and Algorithm 1: images are loaded at random (as in mini-batch
GD) while the batch holds fewer than ``batch_max`` images and its distinct classes stay
within ``batch_cl`` ("we strictly limit the total number of categories in each batch to
``batch_cl``"); "once the upper limit ``batch_max`` is reached and ``n_cl`` is less than
``batch_cl``, the currently loaded sample and label pairs are discarded and reselected";
the batch is trained once ``batch_cl`` is satisfied. Read per draw:

* a draw is accepted when the batch's classes with it stay within ``batch_cl`` and, if it
  takes the last of the ``batch_max`` slots, reach ``batch_cl``; it need not add a class;
* a rejected draw is *discarded*: it stays unused (it may join a later batch) and the next
  image is drawn (*reselect*);
* the batch closes once it holds ``batch_cl`` classes, or after ``max_scan`` draws, or
  when the rank's stream has no unused image left (then it is short, counted in
  ``short_batches``).

Draws are the rank's unused images in the order of its random stream (the epoch
permutation), so every draw is a uniformly random unused image. As in the default mode,
every unused image seeds a batch, so each image is used once per epoch; an image that alone
holds more than ``batch_cl`` classes cannot share a batch under the rule and forms a batch
of its own (counted in ``over_cl_batches``). :class:`RandomFillPlan` reuses the stream
walk and rank balancing of :class:`~.balance_batch_plan.PartPlan`.
"""

import random
from typing import List, Tuple

import numpy as np

from .balance_batch_plan import PartPlan, PlanConfig
from .class_index import ClassIndex


class RandomFillPlan(PartPlan):
    """The batches of one rank's part under the paper's random loading rule.

    Args:
        part (np.ndarray): Dataset indices of the part, in stream order.
        masks (List[int]): Class bit mask of every dataset image.
        index (ClassIndex): Per-image classes.
        cfg (PlanConfig): Plan settings; ``max_scan`` is the bound of draws per batch
            (``max_retries``, ``fallback_candidates`` and ``fixed_size`` are not used).
        rng (random.Random): Generator of the padding batches' draws.
    """

    def __init__(
        self,
        part: np.ndarray,
        masks: List[int],
        index: ClassIndex,
        cfg: PlanConfig,
        rng: random.Random,
    ) -> None:
        super().__init__(part, masks, index, cfg, rng)
        self.stats.update(discards=0, over_cl_batches=0)

    def accepts(self, size: int, mask: int) -> bool:
        """Whether a draw that makes a batch of ``size`` images hold ``mask`` may stay.

        Args:
            size (int): Images of the batch with the draw.
            mask (int): Class mask of the batch with the draw.

        Returns:
            bool: At most ``batch_cl`` classes, and ``batch_cl`` classes if the draw fills
            the last slot.
        """
        classes = mask.bit_count()
        return classes <= self.cfg.batch_cl and (
            size < self.cfg.batch_max or classes >= self.cfg.batch_cl
        )

    def _open(self, mask: int, size: int, draws: int) -> bool:
        """Whether a batch of ``size`` images, ``mask`` classes, after ``draws`` draws
        takes another draw."""
        cfg = self.cfg
        return mask.bit_count() < cfg.batch_cl and size < cfg.batch_max and draws < cfg.max_scan

    def _fill_batch(self, seed: int) -> Tuple[List[int], int]:
        """Random loading with discard and reselect from the unused stream after ``seed``.

        Args:
            seed (int): Position of the seed image (already marked used).

        Returns:
            Tuple[List[int], int]: Positions of the batch (seed first) and its class mask.
        """
        members, mask = [seed], self.masks[seed]
        if mask.bit_count() > self.cfg.batch_cl:
            self.stats['over_cl_batches'] += 1
            return members, mask
        pos, draws = self.first_unused(seed + 1), 0
        while pos < len(self.imgs) and self._open(mask, len(members), draws):
            draws += 1
            with_draw = mask | self.masks[pos]
            if self.accepts(len(members) + 1, with_draw):
                members.append(pos)
                mask = with_draw
                self.mark_used([pos])
            else:
                self.stats['discards'] += 1
            pos = self.first_unused(pos + 1)
        return members, mask

    def pad_batch(self, rng: random.Random) -> Tuple[List[int], bool]:
        """A batch that equalises the ranks' counts, by the same rule from random images
        of the part (used ones allowed, none twice in the batch).

        Args:
            rng (random.Random): Generator of the padding batches.

        Returns:
            Tuple[List[int], bool]: Dataset indices, and whether it is short of
            ``batch_cl`` classes.
        """
        num = len(self.imgs)
        members = [rng.randrange(num)]
        mask = self.masks[members[0]]
        if mask.bit_count() > self.cfg.batch_cl:
            self.stats['over_cl_batches'] += 1
            return [self.imgs[members[0]]], False
        draws = 0
        while self._open(mask, len(members), draws):
            draws += 1
            pos = rng.randrange(num)
            with_draw = mask | self.masks[pos]
            if pos not in members and self.accepts(len(members) + 1, with_draw):
                members.append(pos)
                mask = with_draw
            else:
                self.stats['discards'] += 1
        return [self.imgs[pos] for pos in members], mask.bit_count() < self.cfg.batch_cl
