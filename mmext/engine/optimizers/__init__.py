"""mmext's optimizer wrappers (registered in :data:`mmext.registry.OPTIM_WRAPPERS`)."""

from .cpu_amp_optim_wrapper import CPUAutocastOptimWrapper

__all__ = ['CPUAutocastOptimWrapper']
