"""Mixed precision on the CPU for ``--amp``.

mmengine 0.10.7's ``AmpOptimWrapper`` asserts that a CUDA/NPU/MLU device exists. On a CPU-only
machine ``tools/train.py --amp`` uses this wrapper instead: it runs the forward pass under
``torch.autocast('cpu', dtype=torch.bfloat16)``. bfloat16 has float32's exponent range, so no
loss scaling is needed and the update step is the plain ``OptimWrapper`` one.
"""

from contextlib import contextmanager
from typing import Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmext.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward context is CPU autocast.

    Args:
        dtype (str | torch.dtype): Autocast dtype, ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: Arguments of :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            if dtype not in ('bfloat16', 'float16'):
                raise ValueError(f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` plus CPU autocast."""
        with super().optim_context(model), torch.autocast(device_type='cpu', dtype=self.cast_dtype):
            yield
