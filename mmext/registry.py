"""mmext's registry nodes.

Every node is a child of the matching root registry in MMEngine, with ``locations`` pointing
at the mmext package that registers into it. That makes ``type='mmext.X'`` resolve from a
config whose ``default_scope`` is ``mmdet``, ``mmseg`` or ``mmpretrain``: MMEngine imports
``mmext.registry`` when it meets the ``mmext.`` prefix, walks from the root to the ``mmext``
child and lazily imports the listed locations. See
https://mmengine.readthedocs.io/en/latest/advanced_tutorials/registry.html.

Inside mmext code, build host modules (losses, samplers, ...) through these registries with
plain type names: while a runner is active its default scope (e.g. ``mmdet``) is consulted
first, so ``dict(type='CrossEntropyLoss')`` still finds the host's class.
"""

import sys

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

#: The module of mmengine's build functions (``build_from_cfg`` and the model, runner and
#: scheduler builders): a miss met while one of them runs is a failed build.
_BUILD_FUNCTIONS = 'mmengine.registry.build_functions'


def _serves_a_build(max_depth: int = 12) -> bool:
    """Whether an mmengine build function is among the callers (a build, not a probe)."""
    frame = sys._getframe(2)
    for _ in range(max_depth):
        if frame is None:
            return False
        if frame.f_globals.get('__name__') == _BUILD_FUNCTIONS:
            return True
        frame = frame.f_back
    return False


class MMExtRegistry(Registry):
    """A :class:`~mmengine.registry.Registry` whose failed builds name what is registered.

    mmengine answers an unknown ``type='mmext.X'`` with "X is not in the mmseg::model
    registry". When a build (an mmengine build function, e.g. ``MODELS.build(cfg)`` of any
    host) misses a name of mmext's scope, the error lists the names registered here, so a
    typo is obvious. Any other lookup keeps the parent's contract: :meth:`get` returns None
    on a miss and ``'X' in registry`` is False.
    """

    def get(self, key: str):
        """Look ``key`` up like :meth:`Registry.get`.

        Args:
            key (str): Type name, optionally prefixed by a scope (``'mmext.X'``).

        Returns:
            type | None: The registered class or function; None on a miss outside a build.

        Raises:
            KeyError: if a build asks for ``key``, ``key`` names no module of this registry
                (or its ancestors) and belongs to mmext's scope.
        """
        obj = super().get(key)
        if obj is None and _serves_a_build():
            scope, real_key = self.split_scope_key(key)
            if scope is None or scope == self.scope:
                names = ', '.join(sorted(self.module_dict)) or '(none)'
                raise KeyError(
                    f"{real_key!r} is not registered in mmext's {self.name!r} "
                    f'registry. Registered names: {names}. A module of mmdet, mmseg '
                    'or mmpretrain is written without the `mmext.` prefix.'
                )
        return obj


def _node(name: str, parent: Registry, location: str) -> MMExtRegistry:
    return MMExtRegistry(name, parent=parent, scope='mmext', locations=[location])


#: models: losses, heads, layers
MODELS = _node('model', MMENGINE_MODELS, 'mmext.models')
#: batch samplers and samplers for ``train_dataloader.(batch_)sampler``
DATA_SAMPLERS = _node('data sampler', MMENGINE_DATA_SAMPLERS, 'mmext.datasets.samplers')
#: data transforms (mmcv ``BaseTransform`` subclasses)
TRANSFORMS = _node('transform', MMENGINE_TRANSFORMS, 'mmext.datasets.transforms')
#: datasets (the offline digits datasets)
DATASETS = _node('dataset', MMENGINE_DATASETS, 'mmext.datasets')
#: runner hooks
HOOKS = _node('hook', MMENGINE_HOOKS, 'mmext.engine.hooks')
#: learning-rate / momentum schedulers
PARAM_SCHEDULERS = _node(
    'parameter scheduler', MMENGINE_PARAM_SCHEDULERS, 'mmext.engine.schedulers'
)
#: optimizer wrappers (CPU autocast for ``--amp``)
OPTIM_WRAPPERS = _node('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, 'mmext.engine.optimizers')
#: evaluation metrics
METRICS = _node('metric', MMENGINE_METRICS, 'mmext.evaluation.metrics')

__all__ = [
    'MMExtRegistry',
    'MODELS',
    'DATA_SAMPLERS',
    'TRANSFORMS',
    'DATASETS',
    'HOOKS',
    'PARAM_SCHEDULERS',
    'OPTIM_WRAPPERS',
    'METRICS',
]
