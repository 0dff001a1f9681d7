from .cpu_amp_optim_wrapper import CPUAutocastOptimWrapper  # noqa: F401
