"""Element-wise kernels that run eagerly or, on request, through ``torch.compile``.

Some mmext layers (the Gaussian classifier of the ICU loss) spend much of their time in
chains of element-wise passes over large tensors between their GEMMs; inductor fuses such a
chain into one or two loops. :class:`OptionalCompile` wraps one pure tensor function so that
its caller chooses per call: eager (the default everywhere, bit-for-bit the reference
arithmetic the float64 gradchecks test) or compiled (float rounding may differ in the last
bits: fused loops reassociate sums).

Compilation happens at the first compiled call (seconds to tens of seconds on a small CPU;
cached by inductor across processes) and again when shapes or dtypes change
(``torch.compile``'s default: static shapes first, dynamic after a change). The function is
compiled whole (``fullgraph=True``): a construct dynamo cannot trace fails at compilation,
before any of it has run, so a function that updates its arguments in place is never left
half-applied. If compiling or running the compiled function fails where the eager function
succeeds (no C++ compiler, an unsupported platform, a torch without inductor), the wrapper
stays eager for the rest of the process and warns, once per process however many kernels
fall back (``compile_kernels=True`` on the ICU head wraps five; each one's reason is in its
``disabled_reason``): training
never stops for a missing optimisation. An error the eager function raises as well (a real
input error) propagates unchanged and does not disable compilation; running out of memory
is re-raised as it is (neither retried eagerly nor taken as a compilation failure).
"""

import functools
import warnings
from typing import Any, Callable, Optional

import torch

# torch.OutOfMemoryError since torch 2.5; the CUDA one (the same class there) before
_OUT_OF_MEMORY = getattr(torch, 'OutOfMemoryError', torch.cuda.OutOfMemoryError)


class OptionalCompile:
    """A tensor function with an optional ``torch.compile``'d twin that falls back to eager.

    Args:
        fn (Callable): Tensor function dynamo can trace whole (no data-dependent Python
            control flow on tensor values); in-place operations on its intermediates or on
            arguments it documents as outputs are fine.
        **compile_kwargs: Passed to ``torch.compile`` (e.g. ``dynamic=True``), after
            ``fullgraph=True``.

    Example:
        >>> kernel = OptionalCompile(lambda a, b: (a * b).sum(1))
        >>> out = kernel(x, y)                 # eager
        >>> out = kernel(x, y, compiled=True)  # inductor (eager if it cannot compile)
    """

    #: whether a fall-back has already been reported in this process (one warning in all)
    _warned: bool = False

    def __init__(self, fn: Callable, **compile_kwargs: Any) -> None:
        self.fn = fn
        self.compile_kwargs = {'fullgraph': True, **compile_kwargs}
        self._compiled: Optional[Callable] = None
        self.disabled_reason: Optional[str] = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, compiled: bool = False) -> Any:
        """Run the function eagerly, or compiled when ``compiled`` and compilation works.

        Args:
            *args: The function's arguments.
            compiled (bool): Use the compiled twin. Defaults to False.

        Returns:
            The function's result.
        """
        if not compiled or self.disabled_reason is not None:
            return self.fn(*args)
        try:
            if self._compiled is None:
                self._compiled = torch.compile(self.fn, **self.compile_kwargs)
            return self._compiled(*args)
        except _OUT_OF_MEMORY:
            raise
        except Exception as compiled_error:  # noqa: BLE001 (decided below by the eager run)
            result = self.fn(*args)  # raises the input error if there is one
            self.disabled_reason = f'{type(compiled_error).__name__}: {compiled_error}'
            if not OptionalCompile._warned:
                OptionalCompile._warned = True
                warnings.warn(
                    f'mmext: torch.compile of {self.fn.__qualname__} failed '
                    f'({self.disabled_reason.splitlines()[0][:300]}); running it eagerly from '
                    'now on (same results, slower), and any other mmext kernel that fails to '
                    'compile too, without another warning',
                    RuntimeWarning,
                    stacklevel=2,
                )
            return result
