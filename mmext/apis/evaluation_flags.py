"""The test-only options of ``tools/test.py``: ``--show``, ``--show-dir`` and ``--tta``.

They turn on the host's visualization hook and test-time augmentation the way mmdet's,
mmseg's and mmpretrain's own ``tools/test.py`` do (see :func:`trigger_visualization_hook`
and :func:`enable_tta` for where mmext differs). The shared launch path is
:mod:`mmext.apis.launch`.
"""

import copy
import inspect
import os
import os.path as osp
import sys
from typing import Mapping, Optional, Tuple

from mmengine.config import Config


def has_display(
    environ: Optional[Mapping[str, str]] = None, platform: Optional[str] = None
) -> bool:
    """Whether a window can be opened (``--show``).

    On Linux and other X11/Wayland systems a display needs ``DISPLAY`` or
    ``WAYLAND_DISPLAY``; macOS and Windows always have one.

    Args:
        environ (Mapping[str, str], optional): Environment; defaults to ``os.environ``.
        platform (str, optional): ``sys.platform`` value; defaults to the running one.

    Returns:
        bool: False on an X11/Wayland system without a display variable.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith(('win', 'cygwin', 'darwin')):
        return True
    return bool(environ.get('DISPLAY') or environ.get('WAYLAND_DISPLAY'))


def interactive_backend(backend: Optional[str] = None) -> Tuple[bool, str]:
    """Whether matplotlib's backend can open windows (mmengine's ``Visualizer.show`` uses it).

    A display is not enough: with a non-interactive backend (``MPLBACKEND=Agg``, or no GUI
    toolkit installed so that matplotlib falls back to Agg) ``show`` draws every image,
    opens nothing and returns.

    Args:
        backend (str, optional): The backend name; defaults to ``matplotlib.get_backend()``
            (which resolves the automatic choice).

    Returns:
        tuple[bool, str]: (interactive, the backend's name).
    """
    if backend is None:
        import matplotlib

        backend = matplotlib.get_backend()
    return backend.lower() not in _non_interactive_backends(), backend


def _non_interactive_backends() -> set:
    """matplotlib's built-in non-interactive backends, lower-case (``agg``, ``pdf``, ...)."""
    try:  # matplotlib >= 3.9
        from matplotlib.backends import BackendFilter, backend_registry

        names = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    except ImportError:  # older matplotlib
        from matplotlib import rcsetup

        names = rcsetup.non_interactive_bk
    return {name.lower() for name in names}


def _hook_class(cfg: Config, hook_cfg: Mapping) -> type:
    """The class a hook config builds, looked up in the config's ``default_scope``."""
    hook_type = hook_cfg.get('type', None)
    if isinstance(hook_type, type):
        return hook_type
    from mmengine.registry import HOOKS

    # as build_from_cfg does: imports `<scope>.registry` and searches that child registry
    with HOOKS.switch_scope_and_registry(cfg.get('default_scope', None)) as registry:
        hook_cls = registry.get(hook_type)
    if hook_cls is None:
        raise KeyError(
            f'the visualization hook {hook_type!r} is not registered in scope '
            f'{cfg.get("default_scope", None)!r}'
        )
    return hook_cls


def trigger_visualization_hook(
    cfg: Config,
    show: bool = False,
    show_dir: Optional[str] = None,
    wait_time: float = 2.0,
    environ: Optional[Mapping[str, str]] = None,
    backend: Optional[str] = None,
) -> Config:
    """``--show`` / ``--show-dir``: draw the test predictions with the host's visualization hook.

    As mmseg's and mmdet's ``tools/test.py``, the ``visualization`` entry of
    ``default_hooks`` (mmseg ``SegVisualizationHook``, mmdet ``DetVisualizationHook``,
    mmpretrain ``VisualizationHook``) is switched on (``draw=True``, or ``enable=True`` for
    mmpretrain). Differences, so that every host writes every image to a predictable place:

    * ``show_dir`` is made absolute (relative to the current directory) and goes to the
      hook's ``test_out_dir`` (mmdet: ``DIR/<image file name>``) or ``out_dir``
      (mmpretrain); a hook with neither (mmseg) draws through the visualizer's
      backends, whose ``save_dir`` becomes ``DIR``
      (``DIR/vis_data/vis_image/test_<image file name>_<iter>.png``).
    * Every test batch is drawn: the hook's ``interval`` becomes 1 unless the hook config
      sets one (mmseg's default of 50 would skip 49 batches of 50).
    * ``show`` needs a display and an interactive matplotlib backend: without either
      (:func:`has_display`, :func:`interactive_backend`) a ``RuntimeError`` says so and
      points to ``show_dir``, instead of a window that never opens.

    Args:
        cfg (Config): The test config; ``default_hooks.visualization`` (and, for mmseg,
            ``visualizer.save_dir``) is updated in place.
        show (bool): Display the drawn predictions in a window.
        show_dir (str, optional): Write the drawn predictions under this directory.
        wait_time (float): Seconds each window stays open with ``show``.
        environ (Mapping[str, str], optional): Environment checked for a display; defaults
            to ``os.environ``.
        backend (str, optional): matplotlib backend checked for ``show``; defaults to
            ``matplotlib.get_backend()``.

    Returns:
        Config: ``cfg``.

    Raises:
        RuntimeError: if ``show`` is set without a display or with a non-interactive
            matplotlib backend, the config has no
            ``visualization`` hook, or (backend-writing hook) the visualizer has no backend
            or ``show`` and ``show_dir`` are both set.
    """
    if not (show or show_dir):
        return cfg
    if show and not has_display(environ):
        raise RuntimeError(
            '--show opens a window, but this machine has no display (DISPLAY and '
            'WAYLAND_DISPLAY are unset); use --show-dir DIR to write the drawn predictions '
            'to image files instead'
        )
    if show:
        interactive, name = interactive_backend(backend)
        if not interactive:
            raise RuntimeError(
                f"--show opens a window, but matplotlib's backend {name!r} cannot (set "
                'MPLBACKEND to a GUI backend such as TkAgg or QtAgg, with its toolkit '
                'installed); use --show-dir DIR to write the drawn predictions to image files '
                'instead'
            )
    hook = cfg.get('default_hooks', {}).get('visualization', None)
    if hook is None:
        raise RuntimeError(
            '--show/--show-dir need a visualization hook in `default_hooks`, e.g. '
            "default_hooks = dict(visualization=dict(type='SegVisualizationHook')) (mmseg) "
            "or dict(type='DetVisualizationHook') (mmdet)"
        )
    params = inspect.signature(_hook_class(cfg, hook).__init__).parameters
    switch = 'draw' if 'draw' in params else 'enable' if 'enable' in params else None
    if switch is None:
        raise RuntimeError(
            f'the visualization hook {hook.get("type")!r} has neither a '
            '`draw` nor an `enable` argument; --show/--show-dir cannot turn '
            'it on'
        )
    hook[switch] = True
    if 'interval' in params and 'interval' not in hook:
        hook['interval'] = 1
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        show_dir = osp.abspath(show_dir)
        if 'test_out_dir' in params:
            hook['test_out_dir'] = show_dir
        elif 'out_dir' in params:
            hook['out_dir'] = show_dir
        else:
            if show:
                raise RuntimeError(
                    f"--show with --show-dir: {hook.get('type')!r} detaches the visualizer's "
                    'backends when it shows the images, so nothing would be written to '
                    f'{show_dir}; use one of the two flags'
                )
            visualizer = cfg.get('visualizer', None)
            if not visualizer or not visualizer.get('vis_backends'):
                raise RuntimeError(
                    f'--show-dir: the hook {hook.get("type")!r} saves through the '
                    "visualizer's backends, but the config's `visualizer` has no "
                    "`vis_backends`; add vis_backends=[dict(type='LocalVisBackend')]"
                )
            visualizer['save_dir'] = show_dir
    return cfg


def enable_tta(cfg: Config) -> Config:
    """``--tta``: test with the config's ``tta_model`` and ``tta_pipeline`` (as mmseg/mmdet).

    ``model`` becomes ``tta_model`` with the original model as its ``module`` (mmseg
    ``SegTTAModel``, mmdet ``DetTTAModel``), and the test dataset's pipeline becomes
    ``tta_pipeline`` (on the innermost dataset holding a ``pipeline`` when the test dataset
    wraps another). Unlike mmdet, no default is invented for a config without them.

    Args:
        cfg (Config): The test config, updated in place.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: if the config lacks ``tta_model`` or ``tta_pipeline``, or its test
            dataset has no ``pipeline``.
    """
    missing = [key for key in ('tta_model', 'tta_pipeline') if not cfg.get(key, None)]
    if missing:
        raise ValueError(
            f'--tta needs {" and ".join(f"`{k}`" for k in missing)} in the config (e.g. '
            "mmseg: tta_model = dict(type='SegTTAModel'), tta_pipeline = [..., "
            "dict(type='TestTimeAug', transforms=[...])]; see mmseg's/mmdet's "
            '_base_ configs)'
        )
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    if 'pipeline' not in dataset:
        raise ValueError('--tta: the test dataset has no `pipeline` to replace')
    dataset['pipeline'] = copy.deepcopy(cfg.tta_pipeline)
    tta_model = copy.deepcopy(cfg.tta_model)
    tta_model['module'] = cfg.model
    cfg.model = tta_model
    return cfg
