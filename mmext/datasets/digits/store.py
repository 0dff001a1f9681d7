"""Materialisation of one split of the offline digits datasets on disk.

:func:`materialize` writes a split once (cached by its parameters in
``digits_meta_<split>.json``), under a file lock, into a temporary folder that is renamed into
place, so concurrent DDP ranks and killed builders never leave a half-built split behind. The
files get the permissions of ordinary files (``0o666`` minus the umask), and the temporaries
of builders killed midway are removed by the next build (:func:`remove_stale_temporaries`).
"""

import contextlib
import json
import os
import os.path as osp
import re
import secrets
import shutil
import socket
import tempfile
import time
from typing import Callable, Iterator, List, Sequence

from mmext.utils.processes import pid_alive

from .common import FORMAT_VERSION, load_mnist_digits

#: a temporary build file or folder untouched for this long is stale (its builder died)
STALE_TEMP_SECONDS = 30 * 60
#: names of the temporaries of :func:`materialize`: ``.tmp_<split>_<pid>@<host>_<random>``
#: (build folders) and ``.meta_<pid>@<host>_<random>.json``; older builds wrote the same
#: prefixes without ``<pid>@<host>_``
_TEMP_NAME = re.compile(r'^\.(?:tmp_[a-z]+|meta)_(?:(\d+)@([A-Za-z0-9-]+)_)?')


def meta_path(data_root: str, split: str) -> str:
    """Path of the meta json that records how ``split`` under ``data_root`` was built."""
    return osp.join(data_root, f'digits_meta_{split}.json')


def read_meta(data_root: str, split: str) -> dict:
    """The meta dict of a built split, or ``{}`` if there is none (or it is unreadable)."""
    try:
        with open(meta_path(data_root, split)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _same_build(meta: dict, key: dict) -> bool:
    return all(meta.get(name) == value for name, value in key.items())


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (POSIX ``flock``; a no-op where unavailable).

    The kernel drops the lock when its holder dies, so a killed builder never blocks
    the others.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover  (non-POSIX platforms)
        yield
        return
    with open(path, 'a+') as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _host() -> str:
    """This machine's name, reduced to the characters of :data:`_TEMP_NAME`."""
    return re.sub(r'[^A-Za-z0-9-]', '-', socket.gethostname()) or 'host'


def _owner_tag() -> str:
    """``<pid>@<host>``: the owner of a temporary, for :func:`remove_stale_temporaries`."""
    return f'{os.getpid()}@{_host()}'


def _last_touched(path: str) -> float:
    """Newest modification time of ``path`` and (for a folder) everything below it."""
    newest = os.lstat(path).st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(osp.join(root, name)).st_mtime)
            except OSError:  # removed meanwhile
                pass
    return newest


def remove_stale_temporaries(data_root: str, max_age: float = STALE_TEMP_SECONDS) -> List[str]:
    """Delete the temporaries that builders killed midway left in ``data_root``.

    A ``.tmp_*`` folder or ``.meta_*`` file is stale when its owner (the ``<pid>@<host>``
    of its name) is this machine's and no process ``pid`` exists, or when nothing in it
    was modified for ``max_age`` seconds (temporaries of other machines sharing the folder,
    and of builds that did not record their owner). Temporaries of running builders are
    kept, so concurrent builders never delete each other's.

    Args:
        data_root (str): The dataset root.
        max_age (float): Seconds without modification after which a temporary is stale.
            Defaults to :data:`STALE_TEMP_SECONDS`.

    Returns:
        list[str]: The removed paths.
    """
    removed = []
    now = time.time()
    for name in sorted(os.listdir(data_root)):
        match = _TEMP_NAME.match(name)
        if match is None:
            continue
        path = osp.join(data_root, name)
        pid, host = match.groups()
        try:
            stale = (
                pid is not None
                and host == _host()
                and int(pid) != os.getpid()
                and not pid_alive(int(pid))
            ) or now - _last_touched(path) > max_age
        except OSError:  # removed meanwhile
            continue
        if not stale:
            continue
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except OSError:
                pass
        if not osp.lexists(path):
            removed.append(path)
    return removed


def _write_json(data: dict, path: str, data_root: str) -> None:
    """Write ``data`` to ``path`` atomically, with the permissions of the data files.

    The temporary is created with mode 0o666 minus the umask, as the PNGs (``mkstemp`` would
    make it 0o600: unreadable for the other users sharing the data folder).
    """
    tmp = osp.join(data_root, f'.meta_{_owner_tag()}_{secrets.token_hex(4)}.json')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def materialize(
    data_root: str,
    split: str,
    builder: str,
    params: dict,
    targets: Sequence[str],
    write: Callable[[str], dict],
    force: bool = False,
) -> dict:
    """Build one split unless ``data_root`` already holds it with the same parameters.

    Protocol (safe for concurrent DDP ranks that share a file system):

    1. If ``digits_meta_<split>.json`` records the same builder, parameters, format
       version and source digest, return it (no lock taken).
    2. Take an exclusive lock ``data_root/.digits_<split>.lock`` and check again (another
       rank may have finished meanwhile). Remove the temporaries of builders that were
       killed midway (:func:`remove_stale_temporaries`).
    3. Write everything into a fresh temporary directory inside ``data_root``; delete the
       stale meta; atomically rename each of ``targets`` into place (replacing stale
       ones); finally write the meta json to a temporary file and atomically rename it.

    A split counts as built only once its meta exists, and the meta is renamed in last.
    Every file, the meta included, gets mode ``0o666`` minus the umask (as ``open`` gives
    the PNGs), so users who share the data folder can read what another user built.

    Args:
        data_root (str): Dataset root directory (created if missing).
        split (str): ``'train'`` or ``'val'``.
        builder (str): Name of the builder (``'seg'``, ``'det'``, ``'cls'``).
        params (dict): JSON-serialisable build parameters.
        targets (Sequence[str]): Paths, relative to ``data_root``, that ``write``
            creates under the directory it is given and that this split owns.
        write (Callable[[str], dict]): Writes the split under the given directory and
            returns extra statistics to store in the meta (e.g. class counts).
        force (bool): Rebuild even if the meta matches. Defaults to False.

    Returns:
        dict: The meta dict of the split.
    """
    _, _, digest = load_mnist_digits()
    key = dict(
        format_version=FORMAT_VERSION,
        builder=builder,
        split=split,
        params=json.loads(json.dumps(params)),
        source_sha256=digest,
    )
    data_root = osp.abspath(data_root)
    meta = read_meta(data_root, split)
    if not force and _same_build(meta, key):
        return meta
    os.makedirs(data_root, exist_ok=True)
    with _file_lock(osp.join(data_root, f'.digits_{split}.lock')):
        meta = read_meta(data_root, split)
        if not force and _same_build(meta, key):
            return meta
        remove_stale_temporaries(data_root)
        tmp = tempfile.mkdtemp(prefix=f'.tmp_{split}_{_owner_tag()}_', dir=data_root)
        try:
            stats = write(tmp)
            final = osp.join(data_root, f'digits_meta_{split}.json')
            if osp.exists(final):
                os.remove(final)
            trash = osp.join(tmp, '.trash')
            os.makedirs(trash)
            for i, rel in enumerate(targets):
                dst = osp.join(data_root, rel)
                if osp.lexists(dst):
                    os.rename(dst, osp.join(trash, str(i)))
                os.makedirs(osp.dirname(dst), exist_ok=True)
                os.rename(osp.join(tmp, rel), dst)
            meta = dict(key, **stats)
            _write_json(meta, final, data_root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return meta
