"""Worker of ``test_real_two_process_gloo_class_index`` (launched by torch.distributed.run).

Every rank builds a ``TiltedClassSampler`` (so its class index comes from
``build_class_index_distributed``) in four cases and records the outcome and the time it
took: a dataset that indexes (both ranks must agree), a failure injected on rank 0 only, a
failure on rank 1 only (after rank 0 succeeded) and a label-map dataset with a truncated PNG
(decoded by rank 0 only). A rank that waited for the others would show up as a long time (the
process group's timeout is 20 s, the test's limit 50 s). Rank 0 writes the outcomes to JSON.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 dist_class_index_worker.py
DATA_DIR OUT``
"""

import json
import os.path as osp
import sys
import time
from datetime import timedelta

import torch.distributed as dist

from tests.light_import import import_light  # not `import mmext`: slow

TiltedClassSampler = import_light('mmext.datasets.samplers.tilted_class_sampler')[
    0
].TiltedClassSampler
NUM_CLASSES = 4


class CatDataset:
    """Image ``i`` holds classes ``i % 4`` and ``(i + 1) % 4``; ``get_cat_ids`` raises on
    the ranks in ``fail_on``."""

    metainfo = dict(classes=tuple(f'c{i}' for i in range(NUM_CLASSES)))

    def __init__(self, fail_on=()):
        self.fail_on = fail_on

    def __len__(self):
        return 24

    def get_data_info(self, idx):
        return dict(img_path=f'{idx}.png')

    def get_cat_ids(self, idx):
        if dist.get_rank() in self.fail_on:
            raise OSError(f'injected failure on rank {dist.get_rank()}')
        return [idx % NUM_CLASSES, (idx + 1) % NUM_CLASSES]


class LabelMaps:
    """A segmentation dataset of the PNG label maps in a folder (no ``get_cat_ids``)."""

    metainfo = dict(classes=tuple(f'c{i}' for i in range(NUM_CLASSES)))

    def __init__(self, folder):
        self.paths = [osp.join(folder, f'{i:02d}.png') for i in range(8)]

    def __len__(self):
        return len(self.paths)

    def get_data_info(self, idx):
        return dict(img_path=self.paths[idx], seg_map_path=self.paths[idx])


def attempt(dataset, cache_dir):
    """Build a sampler; return (outcome, seconds)."""
    t0 = time.perf_counter()
    try:
        sampler = TiltedClassSampler(batch_size=2, dataset=dataset, cache_dir=cache_dir, seed=0)
        outcome = dict(ok=[r.tolist() for r in sampler.class_index.image_classes])
    except Exception as e:  # noqa: BLE001
        outcome = dict(error=type(e).__name__, message=str(e))
    return outcome, time.perf_counter() - t0


def main(data_dir: str, out_path: str) -> None:
    dist.init_process_group('gloo', timeout=timedelta(seconds=20))
    rank = dist.get_rank()
    cases = dict(
        ok=(CatDataset(), osp.join(data_dir, 'cache_ok')),
        fail_rank0=(CatDataset(fail_on=(0,)), osp.join(data_dir, 'cache_0')),
        fail_rank1=(CatDataset(fail_on=(1,)), osp.join(data_dir, 'cache_1')),
        truncated_png=(LabelMaps(osp.join(data_dir, 'maps')), osp.join(data_dir, 'cache_png')),
    )
    results = {}
    for name, (dataset, cache_dir) in cases.items():
        outcome, seconds = attempt(dataset, cache_dir)
        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, dict(outcome, seconds=seconds))
        results[name] = gathered
    if rank == 0:
        with open(out_path, 'w') as f:
            json.dump(results, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
