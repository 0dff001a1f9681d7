"""The preamble every mmext batch sampler shares: which dataset, rank, world size and seed.

``BalanceBatchSampler`` and ``TiltedClassSampler`` wrap the sampler the Runner builds for
``train_dataloader.sampler`` (mmengine's ``DefaultSampler`` / ``InfiniteSampler``), as
mmengine's ``BatchSampler`` does. One rule for both (as detectron2 keeps such rules in named
helpers):

* dataset: the one given, else the wrapped sampler's ``dataset``; neither is a ``ValueError``;
* rank and world size: the wrapped sampler's (mmengine's samplers record the ones they shard
  for), else :func:`mmengine.dist.get_dist_info`;
* seed: the one given, else the wrapped sampler's ``seed``, else
  :func:`mmengine.dist.sync_random_seed` (the same on every rank); kept to 32 bits.
"""

from typing import Any, NamedTuple, Optional

from mmengine.dist import get_dist_info, sync_random_seed


class SamplerContext(NamedTuple):
    """What a batch sampler needs from its surroundings.

    Attributes:
        dataset (Any): The dataset the batches index.
        rank (int): This process's rank.
        world_size (int): Number of processes.
        seed (int): The shared random seed (32 bits).
    """

    dataset: Any
    rank: int
    world_size: int
    seed: int


def sampler_context(
    owner: str, sampler: Any = None, dataset: Any = None, seed: Optional[int] = None
) -> SamplerContext:
    """Resolve the dataset, rank, world size and seed of a batch sampler (see module notes).

    Args:
        owner (str): The batch sampler's class name, for the error message.
        sampler (Sampler, optional): The wrapped sampler.
        dataset (Any, optional): The dataset, when not taken from ``sampler``.
        seed (int, optional): An explicit seed.

    Returns:
        SamplerContext: The resolved values.

    Raises:
        ValueError: when neither ``dataset`` nor ``sampler.dataset`` is given.
    """
    if dataset is None:
        dataset = getattr(sampler, 'dataset', None)
    if dataset is None:
        raise ValueError(
            f'{owner} needs a dataset: wrap a sampler with a `dataset` attribute '
            f'(DefaultSampler / InfiniteSampler, as the Runner does for '
            f'train_dataloader.batch_sampler) or pass `dataset`; got sampler={sampler!r}'
        )
    dist_rank, dist_world = get_dist_info()
    rank = int(getattr(sampler, 'rank', dist_rank))
    world_size = int(getattr(sampler, 'world_size', dist_world))
    if seed is None:
        seed = getattr(sampler, 'seed', None)
    seed = int(sync_random_seed() if seed is None else seed) & 0xFFFFFFFF
    return SamplerContext(dataset, rank, world_size, seed)
