"""A checkpoint hook that survives being killed at any moment, and a resume that trusts it.

mmengine 0.10.7's ``CheckpointHook`` deletes the oldest checkpoint *before* it writes the new
one, the new file is written in place under its final name, and ``last_checkpoint`` is
rewritten in place. With ``max_keep_ckpts=1`` (mmext's digits configs) a ``kill -9`` during a
save leaves no complete checkpoint, a ``last_checkpoint`` naming the deleted file, and a
``--resume`` that fails with ``FileNotFoundError``.
"""

import contextlib
import difflib
import inspect
import os
import os.path as osp
from typing import Iterator, List

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from mmext.engine.hooks.finite_checks import (
    check_finite_weights,
    check_interval,
    raise_on_non_finite_loss,
)
from mmext.registry import HOOKS
from mmext.utils.checkpoint import (
    LAST_CHECKPOINT,
    atomic_replace,
    atomic_write_text,
    find_resume_checkpoint,
    list_checkpoints,
    template_regex,
    temporary_name,
)


@contextlib.contextmanager
def _attribute(obj: object, name: str, value: object) -> Iterator[None]:
    """Set ``obj.name = value`` on the instance for the duration of the block."""
    had = name in vars(obj)
    old = vars(obj).get(name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if had:
            setattr(obj, name, old)
        else:
            delattr(obj, name)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose files are never left half-written and never all deleted.

    Same arguments and files as mmengine's ``CheckpointHook`` (``iter_{}.pth`` /
    ``epoch_{}.pth``, ``last_checkpoint``, ``max_keep_ckpts``, ``save_best``, ...); what
    changes is the order and the way files are written:

    1. A checkpoint is written to a hidden temporary name in its directory
       (``.iter_20.pth.partial``), flushed to disk (``fsync``) and renamed to its final
       name with ``os.replace``, which is atomic: the final name shows either nothing or
       the complete file.
    2. ``last_checkpoint`` is then replaced the same way (temporary file + ``os.replace``).
    3. Only then are the checkpoints beyond ``max_keep_ckpts`` deleted (with any older one
       that a run killed before its prune left behind), and a replaced ``best_*``
       checkpoint once the new best one is complete.

    Killed at any moment, a run therefore keeps its newest complete checkpoint (at most one
    ``interval`` old) and a ``last_checkpoint`` that names it or the checkpoint before it
    (still present, since pruning comes last). Leftover ``.partial`` files of a killed
    save are removed when the next run starts.

    Resuming (``resume=True`` without ``load_from``, i.e. ``tools/train.py --resume``): in
    ``before_run`` the hook picks the checkpoint with
    :func:`~mmext.utils.checkpoint.find_resume_checkpoint`: the file ``last_checkpoint``
    names when it is intact; when that file is missing, empty, truncated or damaged (a
    crash of a run that used mmengine's hook, a copy cut short, a full disk), the newest
    intact checkpoint of this hook's name template, with a warning that names both files.
    The choice is handed to mmengine as ``runner._load_from``, so mmengine's own
    ``Runner.resume`` restores it. A file that is not a checkpoint at all fails to load with
    :class:`~mmext.utils.checkpoint.InvalidCheckpointError`, naming the file.

    Divergence: with ``check_finite_loss=N`` (default 1) the run stops with
    :class:`~mmext.engine.hooks.finite_checks.NonFiniteLossError` at the first (every N-th)
    iteration whose logged loss terms are ``nan``/``inf``, before anything is saved (the check
    reads the values already logged: no extra device synchronisation). Independently of it, a
    model with a non-finite weight is never written, made ``last_checkpoint`` or the best
    checkpoint (:class:`~mmext.engine.hooks.finite_checks.NonFiniteWeightsError`); the previous
    checkpoint is kept.

    Arguments are checked when the hook is built: an unknown keyword (``intervl=5``) raises a
    ``TypeError`` listing the accepted ones, before the first iteration (mmengine passes unknown
    keywords on to ``Runner.save_checkpoint``, which fails at the first save).

    Limits: checkpoints must go to a local file system (``out_dir`` without a remote
    backend), where ``os.replace`` is atomic; other backends raise a ``ValueError`` at
    ``before_train``. The rename needs the files of ``Runner.save_checkpoint`` (not the
    checkpoint directories of DeepSpeed / FSDP strategies).

    Args:
        *args: Positional arguments of ``CheckpointHook``.
        check_finite_loss (int): Stop at the first non-finite loss, checking every this many
            iterations; 0 turns the check off. Default 1.
        **kwargs: Keyword arguments of ``CheckpointHook`` (``interval``, ``by_epoch``,
            ``max_keep_ckpts``, ``out_dir``, ``save_best``, ``filename_tmpl``, ...).

    Example:
        >>> default_hooks = dict(checkpoint=dict(
        ...     type='mmext.SafeCheckpointHook', by_epoch=False, interval=500,
        ...     max_keep_ckpts=1))
    """

    def __init__(self, *args, check_finite_loss: int = 1, **kwargs) -> None:
        _check_keywords(kwargs)
        self.check_finite_loss = check_interval(check_finite_loss, 'check_finite_loss')
        super().__init__(*args, **kwargs)
        self._given_out_dir = self.out_dir

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Stop on a non-finite loss (``check_finite_loss``), then save as mmengine does.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch.
            outputs (dict, optional): The ``log_vars`` of ``train_step``.
        """
        if self.check_finite_loss and self.every_n_train_iters(runner, self.check_finite_loss):
            raise_on_non_finite_loss(runner, outputs, getattr(self, 'last_ckpt', '') or '')
        super().after_train_iter(runner, batch_idx, data_batch, outputs)

    # ------------------------------------------------------------------ resuming
    def checkpoint_dir(self, runner) -> str:
        """The directory the checkpoints of ``runner`` go to (as ``before_train`` sets it).

        Args:
            runner (Runner): The runner.

        Returns:
            str: ``work_dir``, or ``out_dir/<basename of work_dir>`` when ``out_dir`` is set.
        """
        out_dir = self._given_out_dir
        if out_dir is None or out_dir == runner.work_dir:
            return runner.work_dir
        return osp.join(str(out_dir), osp.basename(runner.work_dir.rstrip(osp.sep)))

    def before_run(self, runner) -> None:
        """For an automatic resume, choose the newest intact checkpoint (see the class notes).

        Args:
            runner (Runner): The runner.
        """
        if not getattr(runner, '_resume', False) or runner._load_from is not None:
            return
        path = find_resume_checkpoint(
            runner.work_dir,
            self.checkpoint_dir(runner),
            self.filename_tmpl,
            warn=runner.logger.warning,
        )
        if path is not None:
            runner.logger.info(f'Resuming from {path}, the newest intact checkpoint.')
            runner._load_from = path

    # ------------------------------------------------------------------ saving
    def before_train(self, runner) -> None:
        """Set up the output directory (as mmengine), check it is local, clear leftovers.

        Args:
            runner (Runner): The runner.
        """
        super().before_train(runner)
        # file_client_args (deprecated) give a FileClient wrapping the backend as `.client`
        backend = getattr(self.file_backend, 'client', self.file_backend)
        if not isinstance(backend, LocalBackend):
            raise ValueError(
                f'SafeCheckpointHook writes checkpoints atomically (temporary file + '
                f'os.replace) and needs a local out_dir; {self.out_dir!r} uses '
                f'{type(backend).__name__}. Use CheckpointHook for remote storage.'
            )
        if is_main_process():
            self._remove_partial_files(runner)

    def _remove_partial_files(self, runner) -> None:
        """Delete the temporary files (``.<name>.partial``) a killed save left behind."""
        ckpt_name = template_regex(self.filename_tmpl)
        for directory in {self.out_dir, runner.work_dir}:
            if not osp.isdir(directory):
                continue
            for name in os.listdir(directory):
                if not (name.startswith('.') and name.endswith('.partial')):
                    continue
                final = name[1 : -len('.partial')]
                if final == LAST_CHECKPOINT or final.startswith('best_') or ckpt_name.match(final):
                    path = osp.join(directory, name)
                    if osp.isfile(path):
                        os.remove(path)
                        runner.logger.info(f'Removed {path}, left by an interrupted save.')

    def _atomic_save(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` to a temporary name, then rename it to ``filename``."""
        final = self.file_backend.join_path(self.out_dir, filename)
        check_finite_weights(runner.model, f'checkpoint {final}')
        tmp = temporary_name(final)
        # the class attribute: the instance may carry the redirect of _save_best_checkpoint
        type(runner).save_checkpoint(runner, self.out_dir, osp.basename(tmp), **kwargs)
        if is_main_process():
            atomic_replace(tmp, final)

    def _remove(self, path: str) -> None:
        """Delete a checkpoint file or directory if it exists."""
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        """Save the checkpoint of ``step`` atomically, then ``last_checkpoint``, then prune.

        Same bookkeeping as mmengine (``keep_ckpt_ids`` in the message hub, ``last_ckpt``),
        but the evicted checkpoint is deleted after the new one and ``last_checkpoint`` are
        complete.

        Args:
            runner (Runner): The runner.
            step (int): Epoch or iteration number in the file name.
            meta (dict): Meta information stored in the checkpoint.
        """
        evicted: List[int] = []
        if self.max_keep_ckpts > 0 and not (
            len(self.keep_ckpt_ids) > 0 and self.keep_ckpt_ids[-1] == step
        ):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                evicted.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._atomic_save(
            runner,
            ckpt_filename,
            file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        atomic_write_text(osp.join(runner.work_dir, LAST_CHECKPOINT), self.last_ckpt)
        if self.max_keep_ckpts > 0:
            self._prune(step, evicted)

    def _prune(self, step: int, evicted: List[int]) -> None:
        """Delete the evicted checkpoints and older ones a killed prune left behind.

        Removed: files named by ``filename_tmpl`` with a step below ``step`` that are not in
        ``keep_ckpt_ids`` (a run killed between a save and its prune leaves one; mmengine's
        bookkeeping restored on resume no longer lists it). Files of later steps (an
        abandoned, newer history) are left; a later save replaces them.
        """
        keep = set(self.keep_ckpt_ids)
        stale = {
            s
            for s, _ in list_checkpoints(self.out_dir, self.filename_tmpl)
            if s < step and s not in keep
        }
        for old in sorted(stale | set(evicted)):
            if old not in keep:
                self._remove(
                    self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
                )

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """mmengine's best-checkpoint logic with atomic writes and deferred deletion.

        mmengine deletes the previous ``best_*`` checkpoint before writing the new one; here
        its ``Runner.save_checkpoint`` calls write through :meth:`_atomic_save` and the
        deletions run after the new files are complete.

        Args:
            runner (Runner): The runner.
            metrics (dict): Evaluation results.
        """
        if not self.save_best:
            return
        deferred: List[str] = []

        def save(out_dir: str, filename: str, *args, **kwargs) -> None:
            if out_dir != self.out_dir:  # pragma: no cover - mmengine passes self.out_dir
                raise ValueError(f'unexpected checkpoint directory {out_dir!r}')
            if args:  # pragma: no cover - mmengine passes keywords only
                raise TypeError('SafeCheckpointHook expects keyword arguments')
            self._atomic_save(runner, filename, **kwargs)

        backend = self.file_backend
        with (
            _attribute(runner, 'save_checkpoint', save),
            _attribute(backend, 'remove', deferred.append),
            _attribute(backend, 'rmtree', deferred.append),
        ):
            super()._save_best_checkpoint(runner, metrics)
        if is_main_process():
            for path in deferred:
                if path != self.last_ckpt:
                    self._remove(path)


#: arguments of ``Runner.save_checkpoint`` that ``CheckpointHook`` always passes itself
_PASSED_BY_HOOK = {
    'self',
    'out_dir',
    'filename',
    'file_client_args',
    'save_optimizer',
    'save_param_scheduler',
    'meta',
    'by_epoch',
    'backend_args',
}


def _check_keywords(kwargs: dict) -> None:
    """Refuse keywords that neither the hook nor ``Runner.save_checkpoint`` accepts.

    mmengine's ``CheckpointHook`` forwards unknown keywords to ``Runner.save_checkpoint``, so a
    typo (``intervl=5``) fails only at the first save, after that much training is lost.

    Raises:
        TypeError: naming the unknown keywords and listing the accepted ones.
    """
    from mmengine.runner import Runner

    hook_args = set(inspect.signature(CheckpointHook.__init__).parameters)
    hook_args |= {'check_finite_loss'}
    hook_args -= {'self', 'kwargs'}
    forwarded = set(inspect.signature(Runner.save_checkpoint).parameters) - _PASSED_BY_HOOK
    unknown = sorted(set(kwargs) - hook_args - forwarded)
    if not unknown:
        return
    accepted = sorted(hook_args | forwarded)
    hints = [
        f'{name!r} (did you mean {close[0]!r}?)'
        if (close := difflib.get_close_matches(name, accepted, n=1))
        else repr(name)
        for name in unknown
    ]
    raise TypeError(
        f'SafeCheckpointHook got unknown argument(s) {", ".join(hints)}; accepted: '
        f'{", ".join(accepted)}'
    )
