"""Worker of ``test_real_two_process_gloo_run`` (launched by torch.distributed.run).

Every rank builds a ``DefaultSampler`` + ``BalanceBatchSampler`` on a dataset with
``get_cat_ids`` (so the rank-0-first class-index path with its barrier runs), iterates two
epochs through a DataLoader, runs one ``all_reduce`` per batch (as DDP does: unequal batch
counts would hang here) and all_gathers the plans; does the same for one epoch of
the fixed-size mode; then builds a sampler whose class index fails on rank 0 (every rank
must raise, none may wait). Rank 0 checks and writes JSON.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 dist_balance_batch_worker.py OUT``
"""

import json
import sys

import numpy as np
import torch
import torch.distributed as dist
from mmengine.dataset import BaseDataset, DefaultSampler
from torch.utils.data import DataLoader

from tests.light_import import import_light  # not `import mmext`: slow

BalanceBatchSampler = import_light('mmext.datasets.samplers.balance_batch_sampler')[
    0
].BalanceBatchSampler


class CatDataset(BaseDataset):
    """Synthetic long-tailed class sets, the same on every rank."""

    METAINFO = dict(classes=tuple(f'c{i}' for i in range(12)))

    def load_data_list(self):
        rng = np.random.default_rng(0)
        freq = 1.0 / np.arange(1, 13)
        freq /= freq.sum()
        return [
            dict(
                labels=rng.choice(12, size=int(rng.integers(1, 4)), replace=False, p=freq).tolist()
            )
            for _ in range(301)
        ]

    def get_cat_ids(self, idx):
        return self.get_data_info(idx)['labels']

    def __getitem__(self, idx):
        return idx


class NoLabels(CatDataset):
    """Neither label maps nor ``get_cat_ids``: building its class index raises."""

    get_cat_ids = BaseDataset.get_cat_ids


def run_epochs(sampler, dataset, epochs):
    """The plans of ``epochs`` epochs, read through a DataLoader, one all_reduce a step."""
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=list, num_workers=0)
    plans = []
    for epoch in range(epochs):
        loader.batch_sampler.sampler.set_epoch(epoch)
        plan = []
        for batch in loader:
            plan.append(list(batch))
            t = torch.ones(1)
            dist.all_reduce(t)  # one collective per step, like DDP
        assert len(plan) == len(sampler)
        plans.append(plan)
    return plans


def main(out_path: str) -> None:
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    dataset = CatDataset(serialize_data=False)
    sampler = BalanceBatchSampler(DefaultSampler(dataset, seed=3), batch_size=4, batch_cl=4)
    plans = run_epochs(sampler, dataset, 2)
    fixed = BalanceBatchSampler(
        DefaultSampler(dataset, seed=3), batch_size=4, batch_cl=4, fixed_size=True
    )
    plans.append(run_epochs(fixed, dataset, 1)[0])  # "epoch" 2: fixed-size epoch 0
    gathered = [None] * world
    dist.all_gather_object(gathered, plans)
    # a class index that fails on rank 0 must fail on every rank, not hang the others
    try:
        BalanceBatchSampler(
            DefaultSampler(NoLabels(serialize_data=False), seed=3), batch_size=4, batch_cl=2
        )
        failure = 'none'
    except Exception as e:  # noqa: BLE001
        failure = type(e).__name__
    failures = [None] * world
    dist.all_gather_object(failures, failure)
    if rank == 0:
        result = dict(
            lengths=[len(p[0]) for p in gathered],
            disjoint=True,
            equal_lengths=True,
            covers_all=True,
            failures=failures,
        )
        result['fixed_sizes'] = all(len(b) == 4 for g in gathered for b in g[2])
        for epoch in range(3):
            sets = [set(i for b in g[epoch] for i in b) for g in gathered]
            result['equal_lengths'] &= len({len(g[epoch]) for g in gathered}) == 1
            result['disjoint'] &= not (sets[0] & sets[1])
            result['covers_all'] &= set.union(*sets) == set(range(len(dataset)))
        with open(out_path, 'w') as f:
            json.dump(result, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
