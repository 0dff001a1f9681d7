"""Switch mixup off for the last iterations of an iteration-based run (GluonCV)."""

from typing import List, Optional, Sequence

from mmengine.hooks import Hook

from mmext.registry import HOOKS


def _mix_datasets(dataset) -> List:
    """The mixing wrappers (objects with ``update_skip_type_keys``) in a dataset tree."""
    found, stack = [], [dataset]
    while stack:
        node = stack.pop()
        if hasattr(node, 'update_skip_type_keys') and hasattr(node, 'pipeline_types'):
            found.append(node)
        if hasattr(node, 'datasets'):
            stack.extend(node.datasets)
        if hasattr(node, 'dataset'):
            stack.append(node.dataset)
    return found


@HOOKS.register_module()
class MixupSwitchOffHook(Hook):
    """Turn the mixup transforms off for the last iterations of an ``IterBasedTrainLoop``.

    GluonCV's Faster R-CNN script (``scripts/detection/faster_rcnn/train_faster_rcnn.py``,
    ``--no-mixup-epochs``, default 20) mixes while ``epoch < epochs - no_mixup_epochs`` and
    afterwards sets ``MixupDetection.set_mixup(None)`` and ``mix_ratio = 1.0``: the last
    epochs train on plain images with unscaled losses (Bag of Freebies Sec. 3.1). mmdet's
    ``PipelineSwitchHook`` does this for epoch-based loops only; this hook is its
    iteration-based counterpart. From iteration ``switch_iter`` on (0-based, ``runner.iter``),
    every ``MultiImageMixDataset`` of the train dataloader skips the transforms named in
    ``transform_types`` (its ``update_skip_type_keys``), so the samples carry no
    ``gt_weights`` / ``mixup_ratio`` and the weighted heads use 1.

    The switch runs after iteration ``switch_iter - 1`` (or in ``before_train`` when the run
    starts or resumes at or after it): the dataset is updated in the main process and the
    loop's dataloader iterator is rebuilt, so worker processes (persistent or not) restart with
    the updated dataset and no batch mixed before the switch is delivered after it. Dropping
    the old iterator closes the index generator of mmengine's ``InfiniteSampler`` (its
    ``__iter__`` delegates to one shared generator), so the hook restarts that sampler's
    stream with the seed ``seed + switch_iter``: deterministic, the same on every rank, and not
    a replay of the indices already trained on. Other samplers (e.g. ``DefaultSampler``)
    restart their current epoch.

    Args:
        last_iters (int, optional): Number of final iterations without mixup (GluonCV's
            ``--no-mixup-epochs`` in iterations). Exactly one of ``last_iters`` and
            ``last_ratio`` must be given.
        last_ratio (float, optional): Fraction of ``max_iters`` at the end without mixup, in
            [0, 1]; ``switch_iter = max_iters - round(last_ratio * max_iters)``.
        transform_types (Sequence[str]): Class names of the transforms to skip (a
            ``MultiImageMixDataset`` pipeline entry is skipped when its ``type``, scope prefix
            removed, is one of them). Defaults to ``('CoherentMixUp',)``.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        last_iters: Optional[int] = None,
        last_ratio: Optional[float] = None,
        transform_types: Sequence[str] = ('CoherentMixUp',),
    ) -> None:
        if (last_iters is None) == (last_ratio is None):
            raise ValueError('give exactly one of last_iters and last_ratio')
        if last_iters is not None and (int(last_iters) != last_iters or last_iters < 0):
            raise ValueError(f'last_iters must be an integer >= 0, got {last_iters}')
        if last_ratio is not None and not 0.0 <= last_ratio <= 1.0:
            raise ValueError(f'last_ratio must be in [0, 1], got {last_ratio}')
        if isinstance(transform_types, str) or not transform_types:
            raise ValueError('transform_types must be a non-empty sequence of class names')
        self.last_iters = None if last_iters is None else int(last_iters)
        self.last_ratio = None if last_ratio is None else float(last_ratio)
        self.transform_types = tuple(str(t) for t in transform_types)
        self.switch_iter: Optional[int] = None
        self.switched = False

    def resolve_switch_iter(self, max_iters: int) -> int:
        """First iteration without mixup for a run of ``max_iters`` iterations.

        Args:
            max_iters (int): Length of the run.

        Returns:
            int: ``max_iters - last_iters`` (or the ratio's count), at least 0.
        """
        if self.last_iters is not None:
            off = self.last_iters
        else:
            off = int(round(self.last_ratio * max_iters))
        return max(0, max_iters - off)

    def before_train(self, runner) -> None:
        """Resolve ``switch_iter``; switch now if the run (re)starts at or after it.

        Args:
            runner (Runner): The runner.
        """
        loop = runner.train_loop
        if not hasattr(loop, 'dataloader_iterator'):
            raise TypeError(
                'MixupSwitchOffHook needs an IterBasedTrainLoop; with an EpochBasedTrainLoop '
                "use mmdet's PipelineSwitchHook"
            )
        self.switch_iter = self.resolve_switch_iter(runner.max_iters)
        if not _mix_datasets(runner.train_dataloader.dataset):
            raise ValueError(
                'MixupSwitchOffHook found no MultiImageMixDataset in train_dataloader.dataset'
            )
        if self.switch_iter < runner.max_iters and runner.iter >= self.switch_iter:
            self.switch_off(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Switch after iteration ``switch_iter - 1``, before the next batch is fetched.

        Args:
            runner (Runner): The runner.
            batch_idx (int): The iteration just run (``runner.iter``).
            data_batch (dict, optional): Unused.
            outputs (dict, optional): Unused.
        """
        if self.switched or self.switch_iter is None or self.switch_iter >= runner.max_iters:
            return  # already off, or mixup for the whole run (last_iters=0)
        if batch_idx + 1 >= self.switch_iter:
            self.switch_off(runner)

    def switch_off(self, runner) -> None:
        """Make the mixing datasets skip mixup and restart the dataloader iterator.

        Args:
            runner (Runner): The runner.
        """
        loader = runner.train_dataloader
        for dataset in _mix_datasets(loader.dataset):
            skip = [t for t in dataset.pipeline_types if t.split('.')[-1] in self.transform_types]
            if not skip:
                raise ValueError(
                    f'MixupSwitchOffHook: no {self.transform_types} in the pipeline '
                    f'{dataset.pipeline_types} of a MultiImageMixDataset'
                )
            previous = list(getattr(dataset, '_skip_type_keys', None) or [])
            dataset.update_skip_type_keys(previous + [t for t in skip if t not in previous])
        sampler = getattr(getattr(loader, 'batch_sampler', None), 'sampler', None)
        sampler = getattr(loader, 'sampler', None) if sampler is None else sampler
        if hasattr(sampler, '_indices_of_rank') and hasattr(sampler, 'indices'):
            sampler.seed = sampler.seed + self.switch_iter  # InfiniteSampler: a fresh stream
            sampler.indices = sampler._indices_of_rank()
        iterator = runner.train_loop.dataloader_iterator
        old = getattr(iterator, '_iterator', None)
        if getattr(loader, 'persistent_workers', False):
            loader._iterator = None  # torch keeps persistent workers here: drop them
        if hasattr(old, '_shutdown_workers'):
            old._shutdown_workers()
        iterator._iterator = iter(loader)
        self.switched = True
        runner.logger.info(
            f'MixupSwitchOffHook: mixup ({", ".join(self.transform_types)}) off from '
            f'iteration {self.switch_iter} of {runner.max_iters}'
        )
