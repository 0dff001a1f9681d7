"""The launch path shared by ``tools/train.py`` and ``tools/test.py``.

It turns command-line arguments into a runnable config the way mmdet/mmseg/mmpretrain's own tools
do (``--work-dir``, ``--resume [CKPT]``, ``--amp``, ``--auto-scale-lr``, ``--cfg-options``,
``--launcher``; the test-only ``--show``, ``--show-dir`` and ``--tta`` are
:mod:`mmext.apis.evaluation_flags`) and adds what CPU-only distributed runs need with
mmengine 0.10.7:

* ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device`` unconditionally, which fails on a
  machine without a GPU. :func:`init_cpu_distributed` initialises the gloo process group from the
  launcher's environment first; the Runner then sees an initialised group and skips ``init_dist``.
* The Runner wraps the model in DDP with ``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU
  module. :func:`prepare_cfg` sets ``model_wrapper_cfg.device_ids=None`` when no GPU is present.

With a GPU nothing is changed: mmengine's own initialisation (NCCL) runs.

It also refuses what would pass in silence:

* ``run_checks.check_cfg_options``: a ``--cfg-options`` key whose first part is a top-level
  variable of the config file (``max_iters``, ``lr``: resolved while the file is parsed, so
  setting it changes nothing) or a top-level key that nothing reads, naming the dotted keys to
  set instead;
* ``run_checks.warn_if_gpus_expected``: one warning when the run falls back to the CPU although
  GPUs were evidently expected (``--device cpu`` or ``MMEXT_DEVICE=cpu`` states the CPU intent);
* ``run_checks.check_checkpoints``: a checkpoint of another model for ``tools/test.py``,
  ``load_from`` or ``--resume CKPT`` (:mod:`mmext.utils.checkpoint_match`);
* :func:`mmext.utils.mmcv_ops.check_mmcv_ops_for_device`: a GPU run with a CPU-only mmcv.
"""

import logging
import os
import os.path as osp
import subprocess
from typing import Mapping, Optional, Union

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

from mmext.apis.run_checks import check_cfg_options

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
DEVICES = ('auto', 'cpu')


def _env_int(*names: str, default: Optional[int] = None) -> int:
    for name in names:
        if os.environ.get(name) not in (None, ''):
            return int(os.environ[name])
    if default is None:
        raise RuntimeError(
            f'none of the environment variables {names} is set: was the job '
            'started by its launcher (torchrun, srun, mpirun)?'
        )
    return default


def _launcher_env(launcher: str) -> None:
    """Fill RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* from the launcher's variables."""
    if launcher == 'slurm':
        os.environ['RANK'] = str(_env_int('SLURM_PROCID'))
        os.environ['WORLD_SIZE'] = str(_env_int('SLURM_NTASKS'))
        os.environ['LOCAL_RANK'] = str(_env_int('SLURM_LOCALID', default=0))
        if 'MASTER_ADDR' not in os.environ:
            node_list = os.environ.get('SLURM_NODELIST', 'localhost')
            addr = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1').strip()
            os.environ['MASTER_ADDR'] = addr or 'localhost'
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher == 'mpi':
        os.environ['RANK'] = str(_env_int('OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'RANK'))
        os.environ['WORLD_SIZE'] = str(_env_int('OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'WORLD_SIZE'))
        os.environ['LOCAL_RANK'] = str(
            _env_int('OMPI_COMM_WORLD_LOCAL_RANK', 'LOCAL_RANK', default=0)
        )
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', '29500')
    else:  # pytorch (torchrun sets everything)
        for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
            if name not in os.environ:
                raise RuntimeError(
                    f'--launcher pytorch needs {name} in the environment; '
                    'start the job with torchrun or tools/dist_train.sh'
                )
        os.environ.setdefault('LOCAL_RANK', '0')


def init_cpu_distributed(launcher: str, timeout_s: int = 1800) -> bool:
    """Initialise a gloo process group when a distributed launcher runs without a GPU.

    Args:
        launcher (str): One of ``'none'``, ``'pytorch'``, ``'slurm'``, ``'mpi'``.
        timeout_s (int): Collective timeout in seconds.

    Returns:
        bool: True if this call initialised the group. False when nothing was needed: launcher
        ``'none'``, a GPU is available (mmengine initialises NCCL itself), or a group exists.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if torch_dist.is_available() and torch_dist.is_initialized():
        return False
    _launcher_env(launcher)
    from datetime import timedelta

    torch_dist.init_process_group(
        backend='gloo',
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        timeout=timedelta(seconds=timeout_s),
    )
    return True


def cpu_ddp_wrapper_cfg(cfg: Config) -> None:
    """Make the Runner's DDP wrapper usable for a CPU model (``device_ids=None``).

    Args:
        cfg (Config): The config; ``model_wrapper_cfg`` is created or updated in place.
    """
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
        )
        return
    from mmengine.registry import MODEL_WRAPPERS
    from torch.nn.parallel import DistributedDataParallel

    wrapper_cls = MODEL_WRAPPERS.get(wrapper.get('type', 'MMDistributedDataParallel'))
    if wrapper_cls is not None and issubclass(wrapper_cls, DistributedDataParallel):
        wrapper['device_ids'] = None


def prepare_cfg(
    config: str,
    work_dir: Optional[str] = None,
    cfg_options: Optional[dict] = None,
    launcher: str = 'none',
    amp: bool = False,
    resume: Union[bool, str, None] = False,
    load_from: Optional[str] = None,
    auto_scale_lr: bool = False,
) -> Config:
    """Load ``config`` and apply the command-line overrides of the train/test tools.

    Args:
        config (str): Path of the config file.
        work_dir (str, optional): ``--work-dir``; default ``./work_dirs/<config name>``.
        cfg_options (dict, optional): ``--cfg-options`` key/values merged into the config.
        launcher (str): ``--launcher``.
        amp (bool): ``--amp``: switch ``OptimWrapper`` to ``AmpOptimWrapper``.
        resume (bool | str, optional): ``--resume [CKPT]`` as in mmdet's ``tools/train.py``:
            False/None: no resume; True or ``'auto'``: resume from the latest checkpoint in
            ``work_dir`` (``load_from`` is cleared; with ``mmext.SafeCheckpointHook`` the
            newest intact one, see :func:`mmext.utils.checkpoint.find_resume_checkpoint`;
            none: a fresh start); a path: resume from that checkpoint file.
        load_from (str, optional): checkpoint to load (test tool).
        auto_scale_lr (bool): ``--auto-scale-lr``: set ``auto_scale_lr.enable=True`` so that
            the Runner scales the learning rate by ``world_size * batch_size /
            base_batch_size``; the config must define ``auto_scale_lr.base_batch_size``.

    Returns:
        Config: The config to give to ``Runner.from_cfg``.

    Raises:
        FileNotFoundError: if ``config`` or the checkpoint given to ``resume`` does not exist.
        ValueError: if ``auto_scale_lr`` is set and the config has no usable
            ``auto_scale_lr.base_batch_size``, or a ``cfg_options`` key would be ignored
            (:func:`check_cfg_options`).
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'--launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    if amp:
        _enable_amp(cfg)
    if auto_scale_lr:
        _enable_auto_scale_lr(cfg)
    if resume is True or resume == 'auto':
        cfg.resume = True
        cfg.load_from = None  # the latest (intact) checkpoint of work_dir, as mmdet
    elif resume:
        _check_resume_path(resume)
        cfg.resume = True
        cfg.load_from = resume
    if load_from is not None:
        cfg.load_from = load_from
    if launcher != 'none' and not torch.cuda.is_available():
        cpu_ddp_wrapper_cfg(cfg)
        env_cfg = cfg.setdefault('env_cfg', {})
        env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    return cfg


def _enable_amp(cfg: Config) -> None:
    optim_wrapper = cfg.get('optim_wrapper', None)
    if optim_wrapper is None:
        raise ValueError('--amp needs an `optim_wrapper` in the config')
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING,
        )
        return
    if wrapper_type != 'OptimWrapper':
        raise ValueError(
            '--amp is only supported when the optimizer wrapper '
            f'type is `OptimWrapper`, got {wrapper_type}'
        )
    if torch.cuda.is_available():
        optim_wrapper.type = 'AmpOptimWrapper'
        optim_wrapper.loss_scale = 'dynamic'
    else:
        # mmengine's AmpOptimWrapper requires a GPU; autocast to bfloat16 on the CPU
        # (no loss scaling needed).
        optim_wrapper.type = 'mmext.CPUAutocastOptimWrapper'
        optim_wrapper.dtype = 'bfloat16'


def _check_resume_path(path: str) -> None:
    """Fail early, naming ``path``, when ``--resume CKPT`` names no local file."""
    if '://' in path:  # a remote checkpoint (s3://, http://): mmengine's loaders check it
        return
    if not osp.exists(path):
        raise FileNotFoundError(f'--resume: checkpoint not found: {path}')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'--resume: {path} is not a checkpoint file (a directory?); '
            'pass a file, or --resume alone to resume from the latest '
            'checkpoint of the work dir'
        )


def _enable_auto_scale_lr(cfg: Config) -> None:
    """``--auto-scale-lr``: switch on the config's ``auto_scale_lr`` (as mmdet's tool)."""
    scale_cfg = cfg.get('auto_scale_lr', None)
    example = (
        'add `auto_scale_lr = dict(enable=False, base_batch_size=N)` to the config, N '
        'being the total batch size (all processes) its learning rate was set for'
    )
    if not isinstance(scale_cfg, Mapping):
        raise ValueError(f'--auto-scale-lr: the config has no `auto_scale_lr`; {example}')
    base = scale_cfg.get('base_batch_size', None)
    if base is None:
        raise ValueError(
            f"--auto-scale-lr: the config's `auto_scale_lr` has no `base_batch_size`; {example}"
        )
    if isinstance(base, bool) or not isinstance(base, int) or base <= 0:
        raise ValueError(
            '--auto-scale-lr: `auto_scale_lr.base_batch_size` must be a '
            f'positive integer, got {base!r}'
        )
    scale_cfg['enable'] = True


def build_runner(cfg: Config):
    """Check the device set-up, initialise CPU distributed if needed, build the Runner.

    Stops when a GPU is visible but mmcv has CPU ops only
    (:func:`~mmext.utils.mmcv_ops.check_mmcv_ops_for_device`) and warns when GPUs were expected
    but the run falls back to the CPU (:func:`~mmext.apis.run_checks.warn_if_gpus_expected`).

    Args:
        cfg (Config): A config from :func:`prepare_cfg`.

    Returns:
        mmengine.runner.Runner: The runner.
    """
    from mmext.apis.run_checks import warn_if_gpus_expected
    from mmext.utils.mmcv_ops import check_mmcv_ops_for_device

    check_mmcv_ops_for_device()
    warn_if_gpus_expected()
    init_cpu_distributed(cfg.get('launcher', 'none'))
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def set_local_rank_env(local_rank: int, device: str = 'auto') -> None:
    """Export ``--local-rank`` (``torch.distributed.launch``) as ``LOCAL_RANK``; apply ``--device``.

    Args:
        local_rank (int): ``--local-rank``.
        device (str): ``--device``: ``'cpu'`` hides the GPUs from this process
            (``CUDA_VISIBLE_DEVICES=''``, before CUDA is initialised) and states the CPU intent
            (``MMEXT_DEVICE=cpu``, which silences ``run_checks.warn_if_gpus_expected``).
    """
    os.environ.setdefault('LOCAL_RANK', str(local_rank))
    if device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        os.environ['MMEXT_DEVICE'] = 'cpu'


def common_args(parser) -> None:
    """Add the arguments shared by the train and test tools to ``parser``."""
    from mmengine.config import DictAction

    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs',
    )
    parser.add_argument('--launcher', choices=list(LAUNCHERS), default='none', help='job launcher')
    parser.add_argument(
        '--device',
        choices=list(DEVICES),
        default=os.environ.get('MMEXT_DEVICE', 'auto'),
        help="'cpu': run on the CPU (hides the GPUs) and silence the warning printed when GPUs "
        "were expected but none is usable; default 'auto' (MMEXT_DEVICE)",
    )
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='load a checkpoint even when it matches few of the model weights (another model)',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
