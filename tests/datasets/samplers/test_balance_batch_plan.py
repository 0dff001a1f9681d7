"""Hand-computed tests of the epoch-plan helpers of BalanceBatchSampler."""

import random

import numpy as np

from mmext.datasets.samplers import ClassIndex
from mmext.datasets.samplers.balance_batch_plan import (
    PartPlan,
    PlanConfig,
    greedy_max_cover,
    positions_by_class,
)


def masks_of(index):
    return [sum(1 << c for c in row.tolist()) for row in index.image_classes]


def test_greedy_max_cover_by_hand():
    index = ClassIndex.from_lists([[0, 1], [1], [2], [0, 2]], 5)
    assert greedy_max_cover(index, 1) == (2, 2)  # one image: at most 2 classes
    assert greedy_max_cover(index, 2) == (3, 3)  # {0, 1} + {2}: all 3 present classes
    assert greedy_max_cover(index, 4) == (3, 3)


def test_positions_by_class_by_hand():
    index = ClassIndex.from_lists([[0, 1], [1], [2], [0, 2], [3]], 4)
    part = np.array([3, 0, 4])  # positions 0, 1, 2 hold images 3, 0, 4
    groups = positions_by_class(index, part)
    assert list(groups) == [0, 1, 2, 3]
    assert {c: g.tolist() for c, g in groups.items()} == {0: [0, 1], 1: [1], 2: [0], 3: [2]}


def test_top_up_prefers_new_classes_then_unused_then_used_images():
    index = ClassIndex.from_lists([[0], [0], [1], [0], [2]], 3)
    part = np.arange(5)
    cfg = PlanConfig(
        batch_max=4, batch_cl=1, max_retries=1, max_scan=10, fallback_candidates=4, fixed_size=True
    )
    plan = PartPlan(part, masks_of(index), index, cfg, random.Random(0))
    plan.mark_used([0])  # position 0 used: it seeds the batch
    members = [0]
    bmask = plan.top_up(members, 0b001, 1, plan.rng)
    # 2 (class 1) and 4 (class 2) add classes, then the first unused image 1
    assert members == [0, 2, 4, 1] and bmask == 0b111
    assert [plan.first_unused(i) for i in range(5)] == [3, 3, 3, 3, 5]  # only 3 is left
    assert plan.stats['reused_fillers'] == 0
    # next batch: seed 3, the rank has no unused image left -> used images fill it
    plan.mark_used([3])
    members = [3]
    bmask = plan.top_up(members, 0b001, 4, plan.rng)
    assert len(members) == len(set(members)) == 4 and members[0] == 3
    assert bmask == 0b111  # images of the missing classes 1 and 2 came first
    assert set(members[1:3]) == {2, 4}
    assert plan.stats['reused_fillers'] == 3
