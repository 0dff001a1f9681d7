from . import hooks, optimizers, schedulers  # noqa: F401
