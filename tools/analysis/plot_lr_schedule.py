"""Plot the learning-rate (or momentum) curve that a config's param schedulers produce.

    python tools/analysis/plot_lr_schedule.py CONFIG --out lr.png [--iters-per-epoch N]
        [--param lr|momentum] [--save-values values.json] [--cfg-options k=v ...]

The optimizer wrapper of the config is built on a small dummy model and the schedulers are
built exactly as mmengine's Runner builds them (default ``end`` = the train loop's length,
``convert_to_iter_based`` with the epoch length), then stepped as ``ParamSchedulerHook`` steps
them: iteration-based schedulers after every iteration, epoch-based ones after every epoch (an
``IterBasedTrainLoop`` has no epoch ends; its epoch-based schedulers are never stepped, as in
mmengine). The value plotted for iteration ``i`` is the one iteration ``i`` trains with. The
base value is the one written in the config (``auto_scale_lr`` is not applied).

The epoch length is ``--iters-per-epoch`` or, when omitted, ``len(train_dataloader)`` built
from the config (only possible when the dataset is present on disk).
"""

import argparse
import copy
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope

import mmext  # noqa: F401  (registers mmext.WarmupCosineLR & co.)


class _DummyDetector(nn.Module):
    """A tiny model with the usual top-level names (backbone/neck/head) and a norm layer, so
    that ``paramwise_cfg`` options (``custom_keys``, ``norm_decay_mult``, ...) can be built."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.neck = nn.Conv2d(4, 4, 1)
        self.head = nn.Linear(4, 2)


def _train_loop_info(cfg: Config) -> Dict[str, object]:
    """Whether the train loop counts epochs, and its length in epochs or iterations."""
    train_cfg = cfg.get('train_cfg', None)
    if not train_cfg:
        raise ValueError('the config has no train_cfg: nothing to schedule')
    loop_type = train_cfg.get('type', None)
    if loop_type is None:
        by_epoch = bool(train_cfg.get('by_epoch', True))
    else:
        name = loop_type if isinstance(loop_type, str) else loop_type.__name__
        by_epoch = 'Iter' not in name
    if by_epoch:
        if 'max_epochs' not in train_cfg:
            raise ValueError('an epoch-based train_cfg needs max_epochs')
        return dict(by_epoch=True, max_epochs=int(train_cfg['max_epochs']))
    if 'max_iters' not in train_cfg:
        raise ValueError('an iteration-based train_cfg needs max_iters')
    return dict(by_epoch=False, max_iters=int(train_cfg['max_iters']))


def infer_iters_per_epoch(cfg: Config) -> int:
    """``len(train_dataloader)`` of the config (builds its dataset).

    Raises:
        ValueError: if the dataloader cannot be built (e.g. the dataset is not on disk).
    """
    from mmengine.runner import Runner

    try:
        loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader))
        return len(loader)
    except Exception as exc:  # any failure means the length is not cheaply available
        raise ValueError(
            'could not build train_dataloader to count the iterations per epoch '
            f'({type(exc).__name__}: {exc}); pass --iters-per-epoch'
        ) from exc


def _optim_wrapper_cfg(cfg: Config) -> dict:
    """The config's optim_wrapper with AMP wrappers replaced by the plain one (CPU)."""
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if 'Amp' in str(optim_cfg.get('type', 'OptimWrapper')):
        optim_cfg['type'] = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            optim_cfg.pop(key, None)
    return optim_cfg


def compute_schedule(
    cfg: Config, iters_per_epoch: Optional[int] = None, param: str = 'lr'
) -> Dict[str, object]:
    """Step the config's schedulers through its whole training and record a parameter.

    Args:
        cfg (Config): A training config with ``optim_wrapper``, ``param_scheduler`` and
            ``train_cfg``.
        iters_per_epoch (int, optional): Epoch length; inferred from the dataloader if None.
        param (str): ``'lr'`` or ``'momentum'``.

    Returns:
        dict: ``values`` (value of param group 0 at each iteration), ``iters_per_epoch``,
        ``by_epoch`` (loop type), ``total_iters``.
    """
    if param not in ('lr', 'momentum'):
        raise ValueError(f'param must be "lr" or "momentum", got {param!r}')
    init_default_scope(cfg.get('default_scope', 'mmengine') or 'mmengine')
    loop = _train_loop_info(cfg)
    schedulers_cfg = cfg.get('param_scheduler', None)
    if schedulers_cfg is None:
        schedulers_cfg = []
    elif isinstance(schedulers_cfg, dict):
        schedulers_cfg = [schedulers_cfg]
    need_length = loop['by_epoch'] or any(s.get('by_epoch', True) for s in schedulers_cfg)
    if iters_per_epoch is None and need_length:
        iters_per_epoch = infer_iters_per_epoch(cfg)
    if iters_per_epoch is not None and iters_per_epoch <= 0:
        raise ValueError(f'iters_per_epoch must be positive, got {iters_per_epoch}')
    if loop['by_epoch']:
        max_epochs = loop['max_epochs']
        total_iters = max_epochs * iters_per_epoch
    else:
        max_epochs, total_iters = 1, loop['max_iters']  # as IterBasedTrainLoop

    torch.manual_seed(0)
    optim_wrapper = build_optim_wrapper(_DummyDetector(), _optim_wrapper_cfg(cfg))
    optimizer = optim_wrapper.optimizer
    if param not in optimizer.param_groups[0]:
        raise ValueError(f'the optimizer {type(optimizer).__name__} has no "{param}"')
    schedulers = []
    for sched_cfg in schedulers_cfg:
        sched_cfg = copy.deepcopy(sched_cfg)
        sched_cfg.setdefault('end', max_epochs if sched_cfg.get('by_epoch', True) else total_iters)
        schedulers.append(
            PARAM_SCHEDULERS.build(
                sched_cfg, default_args=dict(optimizer=optim_wrapper, epoch_length=iters_per_epoch)
            )
        )

    values: List[float] = []
    # no gradients: a no-op step that lets the schedulers see optimizer.step() came first
    optim_wrapper.step()
    for it in range(total_iters):
        values.append(float(optimizer.param_groups[0][param]))
        for sched in schedulers:
            if not sched.by_epoch:
                sched.step()
        if loop['by_epoch'] and (it + 1) % iters_per_epoch == 0:
            for sched in schedulers:
                if sched.by_epoch:
                    sched.step()
    return dict(
        values=values,
        iters_per_epoch=iters_per_epoch,
        by_epoch=loop['by_epoch'],
        total_iters=total_iters,
    )


def plot_schedule(
    result: Dict[str, object], out: str, title: str, param: str = 'lr', max_points: int = 20000
) -> None:
    """Save the curve of :func:`compute_schedule` as an image.

    Args:
        result (dict): Output of :func:`compute_schedule`.
        out (str): Image path (the extension picks the format, e.g. ``.png``).
        title (str): Figure title.
        param (str): Name of the plotted parameter (y label).
        max_points (int): At most this many points are drawn (uniform subsampling).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    values = result['values']
    stride = max(1, len(values) // max_points)
    xs = list(range(0, len(values), stride))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(xs, [values[i] for i in xs], linewidth=1.5)
    ax.set_xlabel('iteration')
    ax.set_ylabel(param)
    ax.grid(True, alpha=0.3)
    length = result['iters_per_epoch']
    pad = 6.0
    if result['by_epoch'] and length:
        top = ax.secondary_xaxis('top', functions=(lambda x: x / length, lambda e: e * length))
        top.set_xlabel('epoch')
        pad = 12.0
    ax.set_title(title, fontsize=9, pad=pad)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Plot the LR schedule of a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--out', required=True, help='output image, e.g. lr.png')
    parser.add_argument(
        '--iters-per-epoch',
        type=int,
        default=None,
        help='iterations per epoch (default: len(train_dataloader))',
    )
    parser.add_argument('--param', default='lr', choices=['lr', 'momentum'])
    parser.add_argument('--save-values', default=None, help='also dump the values as JSON')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value'
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """Entry point; returns the computed schedule."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = compute_schedule(cfg, args.iters_per_epoch, args.param)
    plot_schedule(result, args.out, osp.basename(args.config), args.param)
    values = result['values']
    print(
        f'{osp.basename(args.config)}: {result["total_iters"]} iterations '
        f'({result["iters_per_epoch"]} per epoch), {args.param} first={values[0]:.6g} '
        f'max={max(values):.6g} last={values[-1]:.6g} -> {args.out}'
    )
    if args.save_values:
        with open(args.save_values, 'w', encoding='utf-8') as f:
            json.dump(result, f)
    return result


if __name__ == '__main__':
    main()
