"""Worker of ``test_real_two_process_gloo_run`` (launched by torch.distributed.run).

Every rank builds a ``TiltedClassSampler`` (rank and world size from the real process group)
and a ``TiltedClassHook``, trains 30 steps through a DataLoader with 2 prefetching workers
and reports a rank-dependent loss for every batch; the hook all-reduces it. The ranks then
all_gather their batches and weights; rank 0 writes them to JSON for the test to check.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 dist_tilted_class_worker.py OUT``
"""

import json
import sys
from types import SimpleNamespace

import torch
import torch.distributed as dist
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.structures import BaseDataElement
from torch.utils.data import DataLoader

from tests.light_import import import_light  # not `import mmext`: slow

_index, _sampler, _hook = import_light(
    'mmext.datasets.samplers.class_index',
    'mmext.datasets.samplers.tilted_class_sampler',
    'mmext.engine.hooks.tilted_class_hook',
)
ClassIndex, TiltedClassSampler = _index.ClassIndex, _sampler.TiltedClassSampler
TiltedClassHook = _hook.TiltedClassHook
ROWS = [[i % 5, (i * 7) % 5] for i in range(60)]


class ToyDataset:
    metainfo = dict(classes=tuple(f'c{i}' for i in range(5)))

    def __len__(self):
        return len(ROWS)

    def get_data_info(self, idx):
        return dict(img_path=f'img_{idx}.png')

    def __getitem__(self, idx):
        return dict(
            inputs=torch.zeros(1),
            data_samples=BaseDataElement(metainfo=dict(img_path=f'img_{idx}.png')),
        )


def main(out_path: str) -> None:
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    ds = ToyDataset()
    sampler = TiltedClassSampler(
        batch_size=3, dataset=ds, seed=7, infinite=True, class_index=ClassIndex.from_lists(ROWS, 5)
    )
    hook = TiltedClassHook(tilt=1.0, gamma=0.3)
    runner = SimpleNamespace(
        train_dataloader=SimpleNamespace(batch_sampler=sampler, dataset=ds),
        message_hub=MessageHub.get_instance(f'tce_dist_{rank}'),
        visualizer=SimpleNamespace(add_scalars=lambda *a, **k: None),
        iter=0,
        train_loop=None,
    )
    hook.before_train(runner)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=2, collate_fn=pseudo_collate)
    steps = []
    it = iter(loader)
    for step in range(30):
        data_batch = next(it)
        idx = [int(s.metainfo['img_path'][4:-4]) for s in data_batch['data_samples']]
        loss = 0.1 * (sum(idx) % 11) + rank  # differs between the ranks
        cls = sampler._issued[0].cls  # the record the hook is about to match
        runner.iter = step
        hook.after_train_iter(runner, step, data_batch, outputs=dict(loss=loss))
        steps.append(dict(indices=idx, cls=cls, loss=loss, weights=hook.weights().tolist()))
    del it
    gathered = [None] * world
    dist.all_gather_object(gathered, dict(steps=steps, counts=hook.counts.tolist()))
    if rank == 0:
        with open(out_path, 'w') as f:
            json.dump(dict(ranks=gathered, rows=ROWS), f)
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
