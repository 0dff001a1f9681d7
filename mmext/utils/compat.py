"""Compatibility of mmengine 0.10.7 with torch >= 2.6, applied once by ``mmext/__init__.py``.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10.7 calls
``torch.load`` without the argument, so ``--resume`` and ``load_from`` of mmengine's own
checkpoints fail: they pickle the message hub (``HistoryBuffer`` holding numpy arrays) and numpy
scalars. Instead of turning weights-only loading off, mmext keeps it and allow-lists exactly
the globals those checkpoints contain (:func:`checkpoint_safe_globals`).

A file that weights-only loading refuses (a damaged or truncated file, or one that references
a Python object outside the allow-list) makes torch recommend re-running ``torch.load`` with
``weights_only=False``, i.e. running whatever code the file holds. mmengine's loader of local
files is therefore wrapped (:func:`mmext.utils.checkpoint.install_local_checkpoint_loader`):
such a file raises :class:`~mmext.utils.checkpoint.InvalidCheckpointError`, which names the
file and the problem and never suggests unsafe loading.

Importing this module changes nothing: :func:`apply_checkpoint_compat` is called once,
explicitly, by ``mmext/__init__.py`` (so ``import mmext`` / ``custom_imports=['mmext']``
applies it, and no other import does). It is idempotent; it touches torch's global
allow-list and mmengine's loader of local checkpoint files.
"""

from typing import List

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    """Numpy objects that pickled arrays, dtypes and scalars refer to."""
    objs: List[object] = [np.ndarray, np.dtype]
    # numpy 2 moved ``numpy.core`` to ``numpy._core``; pickles name whichever wrote them.
    for modname in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(modname, fromlist=['_reconstruct', 'scalar'])
        except ImportError:  # pragma: no cover - depends on the numpy version
            continue
        objs += [mod._reconstruct, mod.scalar]
    # numpy >= 1.25 pickles dtypes as instances of numpy.dtypes.*DType classes
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            cls = getattr(dtypes, name)
            if isinstance(cls, type) and issubclass(cls, np.dtype):
                objs.append(cls)
    return objs


def checkpoint_safe_globals() -> List[object]:
    """Globals that mmengine checkpoints need beyond torch's default allow-list.

    Returns:
        list: numpy's array/dtype/scalar reconstructors, mmengine's ``HistoryBuffer`` (the
        message hub's log scalars, stored in every resumable checkpoint) and ``getattr``:
        ``HistoryBuffer.__getstate__`` stores its statistics methods (``HistoryBuffer.min``,
        ...), which pickle protocol 2 writes as ``getattr(HistoryBuffer, 'min')``. Allowing
        ``getattr`` does not let a file run code: torch's weights-only unpickler still calls
        only allow-listed callables, so a looked-up attribute can be stored but not called
        unless it is itself allow-listed.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    return _numpy_globals() + [HistoryBuffer, getattr]


def apply_torch_load_compat() -> bool:
    """Allow-list :func:`checkpoint_safe_globals` for weights-only ``torch.load``.

    Returns:
        bool: True if the allow-list was extended, False on a torch without
        ``torch.serialization.add_safe_globals`` (< 2.4), which needs nothing.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # pragma: no cover - torch < 2.4 loads everything
        return False
    add(checkpoint_safe_globals())
    return True


def apply_checkpoint_compat() -> None:
    """Apply both parts: the allow-list and the wrapped local checkpoint loader."""
    from .checkpoint import install_local_checkpoint_loader

    apply_torch_load_compat()
    install_local_checkpoint_loader()
