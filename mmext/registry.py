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

import functools
from typing import Any, Callable, Iterator, Optional

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import DefaultScope, Registry


class MMExtRegistry(Registry):
    """A :class:`~mmengine.registry.Registry` whose failed builds name what is registered.

    mmengine answers an unknown ``type='mmext.X'`` with "X is not in the mmseg::model
    registry". When a build misses a name of mmext's scope, the error lists the names
    registered here instead, so a typo is obvious. Lookups keep the parent's contract:
    :meth:`get` returns None on a miss and ``'X' in registry`` is False.

    The check sits on the build path, not on :meth:`get`: mmengine builds through the
    ``build_func`` of the registry asked (``Registry.build(cfg)`` calls
    ``self.build_func(cfg, registry=self)``). A build of ``type='mmext.X'`` from a host
    registry (``mmdet.registry.MODELS.build(...)``) never calls this node's ``build``; it
    reaches this node only through ``get`` (host ``get`` -> root ``get`` -> this node). So
    :func:`_helpful_build_errors` wraps the ``build_func`` of this node, of its root and of
    the root's descendants (the host registries; those created later inherit the root's):
    when a build fails with a ``KeyError`` and its own type is an mmext name that is not
    registered, the error becomes this node's list of names. Any other error passes
    unchanged, whoever calls.
    """

    def unknown_type_message(self, key: str) -> str:
        """The message of a build that asked this node for the unregistered ``key``.

        Args:
            key (str): Type name without scope.

        Returns:
            str: Names ``key`` and lists every name registered here.
        """
        names = ', '.join(sorted(self.module_dict)) or '(none)'
        return (
            f"{key!r} is not registered in mmext's {self.name!r} registry. Registered "
            f'names: {names}. A module of mmdet, mmseg or mmpretrain is written without '
            'the `mmext.` prefix.'
        )


def _built_type(args: tuple, kwargs: dict) -> Optional[Any]:
    """The ``type`` a build function was asked for (from ``cfg``, else ``default_args``)."""
    cfg = args[0] if args else kwargs.get('cfg')
    default_args = args[1] if len(args) > 1 else kwargs.get('default_args')
    for source in (cfg, default_args):
        try:
            if source is not None and 'type' in source:
                return source['type']
        except TypeError:  # a list of configs (mmengine's Sequential), not one build
            return None
    return None


def _unregistered_mmext_name(node: MMExtRegistry, args: tuple, kwargs: dict) -> Optional[str]:
    """The name a failed build asked ``node``'s scope for, if ``node`` lacks it; else None.

    The scope is the type's prefix (``'mmext.X'``), else the one the build ran under: the
    config's ``_scope_``, the default scope, or the registry built from.
    """
    obj_type = _built_type(args, kwargs)
    if not isinstance(obj_type, str):
        return None
    scope, name = Registry.split_scope_key(obj_type)
    if scope is None:
        cfg = args[0] if args else kwargs.get('cfg')
        scope = cfg.get('_scope_') if hasattr(cfg, 'get') else None
        if scope is None:
            default = DefaultScope.get_current_instance()
            registry = kwargs.get('registry')
            scope = default.scope_name if default is not None else getattr(registry, 'scope', None)
    if scope != node.scope:
        return None
    node.import_from_location()
    return None if name in node.module_dict else name


def _helpful_build(build_func: Callable, node: MMExtRegistry) -> Callable:
    """``build_func`` whose ``KeyError`` for an unregistered mmext name lists ``node``'s names.

    Args:
        build_func (Callable): A registry's build function (or an earlier wrapper of it).
        node (MMExtRegistry): mmext's node of the registry's tree.

    Returns:
        Callable: The wrapped build function.
    """
    build_func = getattr(build_func, '_mmext_unwrapped', build_func)

    @functools.wraps(build_func)
    def build(*args, **kwargs):
        try:
            return build_func(*args, **kwargs)
        except KeyError as err:
            name = _unregistered_mmext_name(node, args, kwargs)
            if name is None:
                raise
            raise KeyError(node.unknown_type_message(name)) from err

    build._mmext_unwrapped = build_func  # type: ignore[attr-defined]
    return build


def _tree(registry: Registry) -> Iterator[Registry]:
    """``registry`` and all its descendants."""
    yield registry
    for child in list(registry.children.values()):
        yield from _tree(child)


def _helpful_build_errors(node: MMExtRegistry) -> None:
    """Wrap the ``build_func`` of every registry of ``node``'s tree (see :class:`MMExtRegistry`).

    Args:
        node (MMExtRegistry): mmext's node; its root's tree is wrapped, the node included.
    """
    for registry in _tree(node.root):
        registry.build_func = _helpful_build(registry.build_func, node)


def _node(name: str, parent: Registry, location: str) -> MMExtRegistry:
    node = MMExtRegistry(name, parent=parent, scope='mmext', locations=[location])
    _helpful_build_errors(node)
    return node


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
