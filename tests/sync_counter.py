"""Count the ATen ops that make the host wait for a GPU, on CPU tensors.

A training step that never reads a device value back keeps the CPU ahead of the GPU. The ops
below read one back on CUDA (``cudaMemcpy`` device -> host and a stream sync): scalar reads
(``_local_scalar_dense``: ``.item()``, ``int(t)``, ``bool(t)``), ops whose
output size depends on the values (``nonzero``, ``masked_select``, ``unique*``,
``bincount``, ``repeat_interleave`` without ``output_size``, boolean-mask indexing and
assignment), value comparisons returning a Python bool (``equal``, ``is_nonzero``,
``allclose``) and, the other way, tensors made from Python data (``torch.tensor``,
``new_tensor``, ``as_tensor`` of numbers: ``lift_fresh``), which on CUDA are a
host-to-device copy with ``non_blocking=False`` and thus a stream synchronisation
(``at::cuda::memcpy_and_sync``). One CPU-only ``lift_fresh`` is not counted: a Python scalar
assigned by indexing (``t[idx] = 1``) is lifted on CPU but filled on the device on CUDA; it
shows as a 0-dim ``lift_fresh`` whose result the next op other than a view of the target
(``index_put_``, ``copy_``, ``fill_``) consumes.

:class:`SyncCounter` is a ``TorchDispatchMode``: it sees every ATen op that reaches the
dispatcher (forward and backward on CPU, where backward runs in the calling thread), so the
same count holds on CUDA, where these ops are the syncs.

Reads that never reach the dispatcher on CPU (``.tolist()``, ``.numpy()``, ``.cpu()``,
``.to('cpu')``: on a CPU tensor they read its memory directly; on CUDA they are a
device-to-host copy) are counted by wrapping these ``Tensor`` methods while the counter is
active. ``.to`` counts only with the string ``'cpu'``: ``.to(other.device)`` is a move to the
data's own device in a CUDA run, which a CPU run cannot tell apart.

Host branches: :func:`mmext.models.losses.utils.check_class_labels` (and the instance-weight
check) raise an eager ``ValueError`` on CPU by design and use a device-side assert
(``torch._assert_async``, no read-back) on CUDA; a few other places read values only from
host tensors, where it costs nothing (``mmext.models.losses.utils.checked_on_host``: the
Gaussian classifier's Eq. 14 classes and clamp check, YOLOv3's overlap warning).
:func:`device_side_checks` switches all of them to the CUDA branch on CPU tensors (it patches
the module-level ``_checked_on_host`` switches), so a CPU run counts what a CUDA run would:
``_assert_async`` is not counted (on CUDA it queues a kernel that aborts on failure; its CPU
kernel reads the value, but the mode sees only the op, not what the kernel does inside).
"""

import contextlib
import functools
from typing import Callable, Iterator, List

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

#: ops that always read a device value back to the host
ALWAYS_SYNC = {
    aten._local_scalar_dense,
    aten.item,
    aten.nonzero,
    aten.masked_select,
    aten._unique,
    aten._unique2,
    aten.unique_dim,
    aten.unique_consecutive,
    aten.unique_dim_consecutive,
    aten.bincount,
    aten.equal,
    aten.is_nonzero,
    aten.allclose,
    aten.lift_fresh,  # a tensor from Python data: a synchronous host-to-device copy on CUDA
}
#: the ops that consume the scalar of ``t[idx] = scalar`` (see the module docstring)
SETITEM_OPS = {aten.index_put, aten.index_put_, aten._index_put_impl_, aten.copy_, aten.fill_}
#: views of the target that ``t[...] = scalar`` may take between the lift and the write
VIEW_OPS = {aten.slice, aten.select, aten.view, aten.as_strided, aten.alias, aten.unsqueeze}
#: indexing ops that sync when an index is a boolean (or uint8) mask
MASK_INDEXING = {aten.index, aten.index_put, aten.index_put_, aten._index_put_impl_}


def _has_mask_index(args) -> bool:
    indices = args[1] if len(args) > 1 else ()
    return any(
        isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in indices
    )


#: ``Tensor`` methods that copy to the host without an ATen op on CPU tensors
HOST_READS = ('tolist', 'numpy', 'cpu', 'to')


def _to_cpu(args, kwargs) -> bool:
    """Whether ``Tensor.to(*args, **kwargs)`` names the CPU as a string (module docstring)."""
    targets = list(args[:1]) + [kwargs.get('device')]
    return any(isinstance(t, str) and t.startswith('cpu') for t in targets)


def is_sync(func, args, kwargs) -> bool:
    """Whether the ATen op ``func`` called with ``args`` / ``kwargs`` syncs on CUDA."""
    packet = func.overloadpacket
    if packet in ALWAYS_SYNC:
        return True
    if packet in MASK_INDEXING:
        return _has_mask_index(args)
    if packet is aten.repeat_interleave:  # a tensor of repeats: the output size is read
        repeats = args[0] if func is aten.repeat_interleave.Tensor else args[1]
        return isinstance(repeats, torch.Tensor) and kwargs.get('output_size') is None
    return False


class SyncCounter(TorchDispatchMode):
    """Records every ATen op (:attr:`ops`) and the host-syncing ones (:attr:`syncs`).

    :meth:`paused` / :meth:`pause` exclude code that is not under test (an upstream parent
    method); :meth:`reset` forgets what was recorded.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ops: List[str] = []
        self.syncs: List[str] = []
        self._paused = 0
        self._lifted_scalar = None  # the 0-dim result of the last op, if it was lift_fresh

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        lifted = self._lifted_scalar
        if lifted is not None and func.overloadpacket not in VIEW_OPS:
            self._lifted_scalar = None
            consumed = any(
                isinstance(a, torch.Tensor) and a.dim() == 0 and a.data_ptr() == lifted
                for a in args
            )
            if func.overloadpacket in SETITEM_OPS and consumed:
                self.syncs.remove('lift_fresh')  # ``t[idx] = scalar``: a fill on CUDA
        out = func(*args, **kwargs)
        if not self._paused:
            name = str(func.overloadpacket.__name__)
            self.ops.append(name)
            if is_sync(func, args, kwargs):
                self.syncs.append(name)
                if func.overloadpacket is aten.lift_fresh and out.dim() == 0:
                    self._lifted_scalar = out.data_ptr()
        return out

    def __enter__(self):
        self._wrapped = {name: getattr(torch.Tensor, name) for name in HOST_READS}
        for name, method in self._wrapped.items():
            setattr(torch.Tensor, name, self._host_read(name, method))
        return super().__enter__()

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            for name, method in self._wrapped.items():
                setattr(torch.Tensor, name, method)

    def _host_read(self, name: str, method: Callable) -> Callable:
        counter = self

        @functools.wraps(method)
        def wrapper(tensor, *args, **kwargs):
            if not counter._paused and (name != 'to' or _to_cpu(args, kwargs)):
                counter.ops.append(name)
                counter.syncs.append(name)
            return method(tensor, *args, **kwargs)

        return wrapper

    def reset(self) -> None:
        """Forget the recorded ops."""
        self.ops.clear()
        self.syncs.clear()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Record nothing inside the block."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def pause(self, fn: Callable) -> Callable:
        """``fn`` wrapped so that its ops are not recorded (e.g. an upstream parent method)."""

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.paused():
                return fn(*args, **kwargs)

        return wrapper


@contextlib.contextmanager
def device_side_checks() -> Iterator[None]:
    """Make the label / instance-weight checks take their CUDA branch on CPU tensors."""
    from unittest import mock

    from mmext.models.losses import utils as loss_utils
    from mmext.structures import instance_weights

    with mock.patch.object(loss_utils, '_checked_on_host', lambda tensor: False):
        with mock.patch.object(instance_weights, '_checked_on_host', lambda tensor: False):
            yield


def count_syncs(fn: Callable, *args, **kwargs) -> List[str]:
    """The host-syncing ops of ``fn(*args, **kwargs)`` (label checks on the device branch)."""
    with device_side_checks(), SyncCounter() as counter:
        fn(*args, **kwargs)
    return counter.syncs
