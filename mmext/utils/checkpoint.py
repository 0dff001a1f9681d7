"""Checkpoint files: clear errors for damaged files, integrity checks, crash-safe writes.

* :func:`load_local_checkpoint` is the loader mmengine uses for local paths once mmext is
  imported (:func:`install_local_checkpoint_loader`, called by :mod:`mmext.utils.compat`).
  It wraps mmengine's own local loader (weights-only ``torch.load`` on torch >= 2.6) and turns
  the errors of a file that is not a loadable checkpoint into :class:`InvalidCheckpointError`,
  whose message names the file and the problem. torch's own message for such a file
  recommends re-running ``torch.load`` with ``weights_only=False`` ("arbitrary code
  execution"); it is not chained into the new error, so no traceback repeats that advice.
* :func:`checkpoint_problem` tells whether a file is a complete checkpoint (the zip archive of
  ``torch.save`` with its central directory and matching CRC-32s) without unpickling it.
* :func:`find_resume_checkpoint` picks the checkpoint a ``--resume`` run starts from: the one
  ``last_checkpoint`` names when it is intact, otherwise the newest intact one.
* :func:`atomic_replace` / :func:`atomic_write_text` make a finished file visible under its
  final name in one ``os.replace`` (after ``fsync``), so a crash leaves either the old or
  the new file, never a partial one.
"""

import os
import os.path as osp
import re
import zipfile
from typing import Callable, List, Optional, Tuple

import torch

#: the file in the work dir naming the latest checkpoint (mmengine's convention)
LAST_CHECKPOINT = 'last_checkpoint'
# torch <= 2.5: "Unsupported global: GLOBAL os.system"; torch 2.14: "Trying to load unsupported
# GLOBAL posix.system whose module posix is blocked"
_UNSUPPORTED_GLOBAL = re.compile(r'unsupported global:? GLOBAL ([\w.]+)', re.IGNORECASE)


class InvalidCheckpointError(ValueError):
    """A file that was asked to be loaded as a checkpoint is not a loadable checkpoint."""


def _zip_problem(path: str) -> Optional[str]:
    """Structural check of a ``torch.save`` zip archive; None when complete."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
                return 'a zip archive without the data.pkl record of torch.save'
            bad = archive.testzip()  # reads every record and compares its CRC-32
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        return f'a damaged torch zip archive ({exc})'
    if bad is not None:
        return f'a damaged torch zip archive (CRC-32 mismatch in record {bad!r})'
    return None


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete checkpoint file, or None when it is one.

    A ``torch.save`` file is a zip archive whose central directory is written last, so a
    file cut short by a crash has none; every record's CRC-32 is also compared (this reads
    the whole file once, without unpickling anything). A file in torch's legacy (non-zip)
    format is checked by loading it weights-only. A complete file whose contents weights-only
    loading refuses (a Python object outside the allow-list) counts as complete: loading it
    raises :class:`InvalidCheckpointError` naming the object.

    Args:
        path (str): Path of the file.

    Returns:
        str | None: A short description of the problem (``'missing'``, ``'empty'``,
        ``'truncated or damaged ...'``), None for an intact checkpoint.
    """
    if not osp.exists(path):
        return 'missing'
    if not osp.isfile(path):
        return 'not a regular file'
    size = osp.getsize(path)
    if size == 0:
        return 'empty (0 bytes)'
    if zipfile.is_zipfile(path):
        problem = _zip_problem(path)
        return None if problem is None else f'truncated or damaged: {problem}'
    with open(path, 'rb') as f:
        head = f.read(4)
    if head[:2] == b'PK':  # local-file header of a zip whose end record is missing
        return (
            f'truncated or damaged: a torch zip archive without its central directory '
            f'({size} bytes)'
        )
    try:
        torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not loadable"
        if _UNSUPPORTED_GLOBAL.search(str(exc)):
            return None  # a legacy pickle refused for its contents, as a zip archive would be
        return (
            f'not a torch checkpoint (neither a zip archive nor a legacy torch pickle; '
            f'{size} bytes)'
        )
    return None


def invalid_checkpoint_message(path: str, error: BaseException) -> str:
    """The message of :class:`InvalidCheckpointError` for ``path`` that failed to load.

    Args:
        path (str): The file.
        error (BaseException): What ``torch.load`` raised; only the name of a refused global
            is taken from it (torch's advice to disable weights-only loading is dropped).

    Returns:
        str: ``'<path> is not a valid checkpoint: <reason>'``.
    """
    refused = _UNSUPPORTED_GLOBAL.search(str(error))
    problem = checkpoint_problem(path)
    if problem is None and refused is not None:
        reason = (
            f'it references the Python object {refused.group(1)}, which is not on '
            'the list of types a checkpoint may contain (weights-only loading; '
            'mmext.utils.compat.checkpoint_safe_globals). It was not loaded.'
        )
    elif problem is None:
        detail = str(error).strip().split('\n')[0][:300]
        if any(word in detail for word in ('weights_only', 'arbitrary code', 'Unpickl')):
            detail = ''  # torch's advice to load unsafely is not repeated
        reason = (
            f'its contents could not be read as a checkpoint ({type(error).__name__}'
            f'{": " + detail if detail else ""})'
        )
    else:
        reason = f'the file is {problem}'
    return f'{path} is not a valid checkpoint: {reason}'


def wrap_checkpoint_loader(loader: Callable) -> Callable:
    """Wrap a ``(filename, map_location)`` loader: load errors become clear errors.

    Errors of the file system (missing file, permissions) pass through unchanged; anything
    ``torch.load`` raises on the file's contents becomes :class:`InvalidCheckpointError`
    with :func:`invalid_checkpoint_message`, raised ``from None``.

    Args:
        loader (Callable): mmengine's local loader, ``loader(filename, map_location)``.

    Returns:
        Callable: The wrapped loader, marked with ``_mmext_wrapped = loader``.
    """

    def load_from_local(filename: str, map_location=None) -> dict:
        try:
            return loader(filename, map_location)
        except (OSError, MemoryError, InvalidCheckpointError):
            raise
        except Exception as exc:  # noqa: BLE001 - pickle, zip, KeyError, RuntimeError, ...
            path = osp.expanduser(filename)
            message = invalid_checkpoint_message(path, exc)
        raise InvalidCheckpointError(message) from None

    load_from_local.__doc__ = loader.__doc__
    load_from_local._mmext_wrapped = loader
    return load_from_local


def install_local_checkpoint_loader() -> bool:
    """Make mmengine load local checkpoint files through :func:`wrap_checkpoint_loader`.

    ``CheckpointLoader`` (mmengine's table of loaders by path prefix, not a registry of
    modules) keeps the local loader under the empty prefix; it is replaced by the wrapped
    one, which calls the original. Idempotent.

    Returns:
        bool: True if the loader was installed by this call.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    current = CheckpointLoader._schemes.get('')
    if current is None or hasattr(current, '_mmext_wrapped'):
        return False
    CheckpointLoader.register_scheme(
        prefixes='', loader=wrap_checkpoint_loader(current), force=True
    )
    return True


def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """Load a local checkpoint file weights-only, with clear errors for damaged files.

    Args:
        filename (str): Path of the file.
        map_location: As for ``torch.load``.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: if there is no such file.
        InvalidCheckpointError: if the file is not a loadable checkpoint.
    """
    from mmengine.runner.checkpoint import load_from_local

    loader = getattr(load_from_local, '_mmext_wrapped', load_from_local)
    return wrap_checkpoint_loader(loader)(filename, map_location)


# ----------------------------------------------------------------------------- writing
def fsync_dir(directory: str) -> None:
    """``fsync`` a directory so that a rename in it survives a power loss (POSIX only)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems without directory fsync
        pass
    finally:
        os.close(fd)


def atomic_replace(tmp_path: str, final_path: str) -> None:
    """Flush ``tmp_path`` to disk and rename it to ``final_path`` in one step.

    Args:
        tmp_path (str): A finished file, in the directory of ``final_path``.
        final_path (str): Its name once complete (replaced if it exists).
    """
    with open(tmp_path, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, final_path)
    fsync_dir(osp.dirname(osp.abspath(final_path)))


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and :func:`atomic_replace`.

    Args:
        path (str): Destination.
        text (str): Contents.
    """
    tmp = temporary_name(path)
    with open(tmp, 'w') as f:
        f.write(text)
    atomic_replace(tmp, path)


def temporary_name(path: str) -> str:
    """The name a file is written under before :func:`atomic_replace` gives it ``path``.

    Hidden (leading dot) and suffixed ``.partial``, so that no checkpoint pattern matches it.

    Args:
        path (str): Final path.

    Returns:
        str: ``<dir>/.<name>.partial``.
    """
    directory, name = osp.split(path)
    return osp.join(directory, f'.{name}.partial')


# ----------------------------------------------------------------------------- resuming
def template_regex(filename_tmpl: str) -> 're.Pattern[str]':
    """Regex matching the names ``filename_tmpl.format(step)`` with the step as group 1."""
    if filename_tmpl.count('{}') != 1:
        raise ValueError(f'filename_tmpl must contain exactly one "{{}}", got {filename_tmpl!r}')
    before, after = filename_tmpl.split('{}')
    return re.compile(f'^{re.escape(before)}(\\d+){re.escape(after)}$')


def list_checkpoints(directory: str, filename_tmpl: str) -> List[Tuple[int, str]]:
    """Checkpoints named by ``filename_tmpl`` in ``directory``, newest (largest step) first.

    Args:
        directory (str): Directory to scan (missing: no checkpoints).
        filename_tmpl (str): Name template with one ``{}`` (e.g. ``'iter_{}.pth'``).

    Returns:
        list[tuple[int, str]]: ``(step, path)`` pairs.
    """
    if not osp.isdir(directory):
        return []
    pattern = template_regex(filename_tmpl)
    found = []
    for name in os.listdir(directory):
        match = pattern.match(name)
        if match is not None:
            found.append((int(match.group(1)), osp.join(directory, name)))
    return sorted(found, reverse=True)


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The path ``work_dir/last_checkpoint`` names (None without that file; '' if empty)."""
    path = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return f.read().strip()


def find_resume_checkpoint(
    work_dir: str,
    ckpt_dir: Optional[str] = None,
    filename_tmpl: str = 'iter_{}.pth',
    warn: Callable[[str], None] = print,
) -> Optional[str]:
    """The checkpoint an automatic ``--resume`` should start from.

    The file ``last_checkpoint`` names when it is intact (:func:`checkpoint_problem`);
    otherwise (missing, empty, truncated or damaged target, or no ``last_checkpoint``) the
    newest intact checkpoint named by ``filename_tmpl`` in ``ckpt_dir`` (and in the directory
    of the named file), with a warning that names both files.

    Args:
        work_dir (str): The run's work dir (holds ``last_checkpoint``).
        ckpt_dir (str, optional): Where the checkpoints are written; defaults to ``work_dir``.
        filename_tmpl (str): Checkpoint name template. Defaults to ``'iter_{}.pth'``.
        warn (Callable[[str], None]): Receives the warning when falling back.

    Returns:
        str | None: Path to resume from; None when there is neither ``last_checkpoint`` nor
        any checkpoint (a fresh start, as mmengine).

    Raises:
        FileNotFoundError: if ``last_checkpoint`` names a file that is not an intact
            checkpoint and no intact checkpoint exists.
    """
    named = read_last_checkpoint(work_dir)
    if named:
        problem = checkpoint_problem(named)
        if problem is None:
            return named
        about = f'{osp.join(work_dir, LAST_CHECKPOINT)} names {named}, which is {problem}'
    elif named == '':
        about = f'{osp.join(work_dir, LAST_CHECKPOINT)} is empty'
    else:
        about = f'there is no {osp.join(work_dir, LAST_CHECKPOINT)}'
    directories = [ckpt_dir or work_dir]
    if named and osp.dirname(named) and osp.dirname(named) not in directories:
        directories.append(osp.dirname(named))
    candidates = sorted(
        {c for d in directories for c in list_checkpoints(d, filename_tmpl)}, reverse=True
    )
    skipped = []
    for _, path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            extra = ''.join(f'; skipped {p} ({why})' for p, why in skipped)
            warn(f'{about}; resuming from {path} instead, the newest intact checkpoint{extra}')
            return path
        skipped.append((path, problem))
    if named is None:
        if skipped:
            warn(
                f'{about} and no intact checkpoint (damaged: '
                f'{", ".join(p for p, _ in skipped)}); starting from scratch'
            )
        return None
    listed = ', '.join(f'{p} ({why})' for p, why in skipped) or 'none'
    raise FileNotFoundError(
        f'cannot resume: {about}, and no intact checkpoint matching {filename_tmpl!r} was '
        f'found in {", ".join(directories)} (checked: {listed}). Delete '
        f'{osp.join(work_dir, LAST_CHECKPOINT)} to start the run from scratch.'
    )


__all__ = [
    'InvalidCheckpointError',
    'checkpoint_problem',
    'invalid_checkpoint_message',
    'wrap_checkpoint_loader',
    'install_local_checkpoint_loader',
    'load_local_checkpoint',
    'atomic_replace',
    'atomic_write_text',
    'temporary_name',
    'fsync_dir',
    'template_regex',
    'list_checkpoints',
    'read_last_checkpoint',
    'find_resume_checkpoint',
    'LAST_CHECKPOINT',
]
