"""Per-image class index shared by the class-aware samplers of mmext.

The index answers "which classes occur in image ``i``" for every image of a dataset:

* semantic-segmentation datasets (mmseg ``BaseSegDataset`` and wrappers around it): the
  classes are the distinct values of the label map at ``seg_map_path`` after mmseg's
  ``reduce_zero_label`` and ``label_map`` (exactly as ``LoadAnnotations`` produces
  ``gt_seg_map``), minus ``ignore_index``;
* detection / classification datasets (mmdet ``BaseDetDataset``, mmpretrain datasets):
  the distinct values returned by ``dataset.get_cat_ids(i)`` (used whenever it is
  implemented; mmdet infos may also carry a ``seg_map_path``).

Label maps are decoded once, in a thread pool (PNG decoding releases the GIL) with a
progress bar, and the raw index is cached on disk as ``<cache_dir>/<sha1>.npz``. The key
hashes the dataset type, the label-map paths with their sizes and modification times,
``reduce_zero_label``, ``label_map`` and ``ignore_index``: editing, adding or removing a
label map rebuilds the index. ``exclude_classes`` is applied after loading and is therefore
not part of the key. Indices from ``get_cat_ids`` are read from the annotations the dataset
already holds in memory (a key would cost as much as the index), so they are not cached.
A cache file that cannot be read (truncated by a partial copy, damaged, of another layout)
is rebuilt and rewritten, with a warning. A label map that cannot be decoded raises an
``OSError`` naming its path. Ground-truth values outside ``[0, num_classes)`` that are not
``ignore_index`` (after ``reduce_zero_label`` / ``label_map``), and ``get_cat_ids`` ids outside
``[0, num_classes)``, raise a ``ValueError`` naming the image and the values
(:func:`check_label_values`, shared with :class:`~mmext.evaluation.FairIoUMetric`): they are
never dropped silently.

Distributed runs build the index with :func:`build_class_index_distributed` (used by both
class-aware samplers): rank 0 builds and caches it, then the other ranks load the cache. A
failure on any rank is sent to every rank, so all ranks raise at once instead of waiting for
the collective timeout.
"""

import hashlib
import io
import json
import os
import os.path as osp
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmext.utils.image_files import damaged_file_error

from .class_index_csr import ClassIndex

__all__ = [
    'ClassIndex',
    'build_class_index',
    'build_class_index_distributed',
    'check_label_values',
    'default_cache_dir',
    'label_map_classes',
    'resolve_class_ids',
]

_INDEX_VERSION = 1


def default_cache_dir() -> str:
    """Cache folder: ``$MMEXT_CACHE_DIR`` or ``~/.cache/mmext/class_index``.

    Returns:
        str: The folder path.
    """
    return os.environ.get(
        'MMEXT_CACHE_DIR', osp.join(osp.expanduser('~'), '.cache', 'mmext', 'class_index')
    )


def check_label_values(
    values: Any, num_classes: int, ignore_index: Optional[int], source: str
) -> None:
    """Raise unless every ground-truth value lies in ``[0, num_classes)`` or is ``ignore_index``.

    The one rule for label maps and class ids (the class index and ``FairIoUMetric``):
    a value outside is an error naming where it comes from, never a silently dropped pixel.

    Args:
        values (np.ndarray | torch.Tensor): Label values, any shape (a label map, or its
            distinct values). Tensors stay on their device until an error is raised.
        num_classes (int): Number of classes ``C``.
        ignore_index (int, optional): The value allowed besides the classes.
        source (str): What holds the values, e.g. ``'label map a/b.png'``.

    Raises:
        ValueError: Naming ``source``, the allowed values and the offending ones.
    """
    bad = (values < 0) | (values >= num_classes)
    if ignore_index is not None:
        bad = bad & (values != ignore_index)
    if not bool(bad.any()):
        return
    found = values[bad]
    if hasattr(found, 'cpu'):  # torch.Tensor
        found = found.cpu().numpy()
    found = np.unique(np.asarray(found)).tolist()
    shown = ', '.join(str(v) for v in found[:10]) + (', ...' if len(found) > 10 else '')
    allowed = f'[0, {num_classes}) (num_classes={num_classes})'
    if ignore_index is not None:
        allowed += f' or ignore_index={ignore_index}'
    raise ValueError(
        f'{source} holds ground-truth values [{shown}] outside the allowed values {allowed}'
    )


def label_map_classes(
    path: str,
    reduce_zero_label: bool = False,
    label_map: Optional[Dict[int, int]] = None,
    ignore_index: int = 255,
    backend_args: Optional[dict] = None,
) -> np.ndarray:
    """Distinct classes of one label map, decoded as mmseg's ``LoadAnnotations``.

    Args:
        path (str): Label map path (any ``mmengine.fileio`` backend).
        reduce_zero_label (bool): mmseg's ``reduce_zero_label``.
        label_map (dict, optional): mmseg's old-id to new-id mapping.
        ignore_index (int): Value excluded from the result.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        np.ndarray: Sorted int64 class ids.

    Raises:
        OSError: Naming ``path`` when the file cannot be decoded (e.g. a truncated PNG).
    """
    from PIL import Image

    if backend_args is None and osp.isfile(path):
        with open(path, 'rb') as f:
            raw = f.read()
    else:
        from mmengine import fileio

        raw = fileio.get(path, backend_args=backend_args)
    try:
        with Image.open(io.BytesIO(raw)) as img:
            seg = np.array(img)
    except Exception as e:  # noqa: BLE001  (any decoder failure: name the file)
        raise damaged_file_error(path, e, 'label map') from e
    # mmseg: imfrombytes(flag='unchanged').squeeze().astype(np.uint8)
    seg = seg.squeeze().astype(np.uint8)
    present = np.flatnonzero(np.bincount(seg.ravel(), minlength=256))
    if reduce_zero_label:  # 0 -> 255, v -> v - 1 (uint8 arithmetic as mmseg)
        present = np.array(sorted({255 if v == 0 else v - 1 for v in present.tolist()}))
        present[present == 254] = 255
    if label_map:
        present = np.array([label_map.get(int(v), int(v)) for v in present])
    present = np.unique(present.astype(np.int64))
    return present[present != ignore_index]


def _seg_sources(dataset: Any) -> List[Tuple[str, bool, Optional[dict]]]:
    """(seg_map_path, reduce_zero_label, label_map) of every image."""
    sources = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        lm = info.get('label_map')
        sources.append(
            (
                info['seg_map_path'],
                bool(info.get('reduce_zero_label', False)),
                dict(lm) if lm else None,
            )
        )
    return sources


def _cache_key(
    dataset: Any, sources: List[Tuple[str, bool, Optional[dict]]], ignore_index: int
) -> str:
    """sha1 over dataset type, label-map paths, sizes, mtimes and decoding options."""
    h = hashlib.sha1()
    h.update(
        json.dumps(
            [_INDEX_VERSION, type(dataset).__name__, len(sources), int(ignore_index)]
        ).encode()
    )
    for path, rzl, lm in sources:
        try:
            st = os.stat(path)
            stamp = f'{st.st_size}:{st.st_mtime_ns}'
        except OSError:  # remote backend: the path alone
            stamp = '-'
        lm_s = json.dumps(sorted((int(k), int(v)) for k, v in lm.items())) if lm else ''
        h.update(f'{path}|{stamp}|{int(rzl)}|{lm_s}\n'.encode())
    return h.hexdigest()


def resolve_class_ids(
    exclude_classes: Sequence[Union[int, str]], class_names: Sequence[str]
) -> List[int]:
    """Map class names or ids to ids, with a clear error for unknown names.

    Args:
        exclude_classes (Sequence[int | str]): Class ids or names.
        class_names (Sequence[str]): ``metainfo['classes']`` of the dataset.

    Returns:
        List[int]: The class ids.
    """
    ids = []
    for c in exclude_classes:
        if isinstance(c, str):
            if c not in class_names:
                raise ValueError(
                    f'exclude_classes: unknown class name {c!r}; the '
                    f'dataset classes are {tuple(class_names)}'
                )
            ids.append(list(class_names).index(c))
        else:
            ids.append(int(c))
    return ids


def _progress(total: int, enabled: bool) -> Optional[Any]:
    """An mmengine ProgressBar when enabled and available, else None."""
    if not enabled or total == 0:
        return None
    try:
        from mmengine.utils import ProgressBar
    except ImportError:  # pragma: no cover
        return None
    return ProgressBar(total)


def _build_seg(
    sources: List[Tuple[str, bool, Optional[dict]]],
    ignore_index: int,
    backend_args: Optional[dict],
    num_workers: int,
    progress: bool,
) -> List[np.ndarray]:
    """Decode every label map (thread pool) and return its classes."""
    bar = _progress(len(sources), progress)

    def one(src: Tuple[str, bool, Optional[dict]]) -> np.ndarray:
        return label_map_classes(src[0], src[1], src[2], ignore_index, backend_args)

    rows: List[np.ndarray] = []
    step = max(1, len(sources) // 50)  # ~50 bar updates: readable in log files too

    def tick() -> None:
        if bar is not None and (len(rows) % step == 0 or len(rows) == len(sources)):
            bar.update(len(rows) - bar.completed)

    if num_workers <= 1 or len(sources) < 64:
        for src in sources:
            rows.append(one(src))
            tick()
    else:
        with ThreadPoolExecutor(num_workers) as pool:
            for row in pool.map(one, sources):
                rows.append(row)
                tick()
    if bar is not None:
        print(flush=True)
    return rows


def _num_classes(dataset: Any) -> int:
    """``len(metainfo['classes'])`` with a clear error when the dataset has none."""
    meta = getattr(dataset, 'metainfo', None) or {}
    classes = meta.get('classes')
    if not classes:
        raise ValueError(
            f'{type(dataset).__name__} has no metainfo["classes"]; the '
            'class index needs the number of classes'
        )
    return len(classes)


def build_class_index(
    dataset: Any,
    ignore_index: int = 255,
    exclude_classes: Sequence[Union[int, str]] = (),
    cache_dir: Optional[Union[str, bool]] = None,
    num_workers: Optional[int] = None,
    backend_args: Optional[dict] = None,
    progress: bool = True,
) -> ClassIndex:
    """Build (or load from the disk cache) the per-image class index of ``dataset``.

    Args:
        dataset: An mmengine-style dataset implementing ``get_cat_ids(i)`` (mmdet,
            mmpretrain; used when it works) or with ``seg_map_path`` in
            ``get_data_info(i)`` (mmseg). ``full_init()`` is called when present.
        ignore_index (int): Label-map value that is not a class. Defaults to 255.
        exclude_classes (Sequence[int | str]): Classes removed from every image (ids or
            names from ``metainfo['classes']``, e.g. ``('background',)``).
        cache_dir (str | bool, optional): Cache folder; ``None`` uses
            :func:`default_cache_dir`, ``False`` disables the cache.
        num_workers (int, optional): Decoding threads; defaults to
            ``min(8, os.cpu_count())``.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.
        progress (bool): Show a progress bar while decoding. Defaults to True.

    Returns:
        ClassIndex: The index, with ``exclude_classes`` removed.

    Raises:
        ValueError: When a label map holds a value outside ``[0, num_classes)`` that is not
            ``ignore_index``, or ``get_cat_ids`` returns an id outside ``[0, num_classes)``:
            naming the image and the values (:func:`check_label_values`).
    """
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    if len(dataset) == 0:
        raise ValueError('cannot index an empty dataset')
    num_classes = _num_classes(dataset)
    class_names = dataset.metainfo['classes']
    exclude = resolve_class_ids(exclude_classes, class_names)
    if _has_cat_ids(dataset):
        rows = [sorted(set(int(c) for c in dataset.get_cat_ids(i))) for i in range(len(dataset))]
        for i, row in enumerate(rows):
            if row and (row[0] < 0 or row[-1] >= num_classes):  # sorted: name it only then
                check_label_values(
                    np.asarray(row, np.int64), num_classes, None, _cat_ids_source(dataset, i)
                )
        index = ClassIndex.from_lists(rows, num_classes)
    elif dataset.get_data_info(0).get('seg_map_path') is not None:
        index = _seg_index(
            dataset, num_classes, ignore_index, cache_dir, num_workers, backend_args, progress
        )
    else:
        raise TypeError(
            f'{type(dataset).__name__}: no get_cat_ids() and no seg_map_path in its data '
            'infos; cannot tell which classes each image holds'
        )
    return index.without(exclude)


def _cat_ids_source(dataset: Any, idx: int) -> str:
    """``get_cat_ids(idx)`` of ``<img_path>``: where bad class ids come from."""
    info = dataset.get_data_info(idx)
    path = info.get('img_path') if isinstance(info, dict) else None
    return f'get_cat_ids({idx})' + (f' of image {path}' if path else '')


def _has_cat_ids(dataset: Any) -> bool:
    """Whether ``dataset.get_cat_ids`` works (mmengine's default raises)."""
    try:
        dataset.get_cat_ids(0)
    except (NotImplementedError, AttributeError):
        return False
    return True


def _load_cache(cache_file: str, num_classes: int, num_images: int) -> Optional[ClassIndex]:
    """The cached index, or None (with a warning) when the file cannot be used."""
    try:
        with np.load(cache_file) as data:
            index = ClassIndex(data['offsets'], data['classes'], num_classes)
        if len(index) != num_images:
            raise ValueError(f'it covers {len(index)} images, the dataset has {num_images}')
        return index
    except Exception as e:  # noqa: BLE001  (zipfile.BadZipFile, EOFError, ...: rebuild)
        warnings.warn(
            f'class index cache {cache_file} is unreadable ({type(e).__name__}: {e}); rebuilding it'
        )
        return None


def _seg_index(
    dataset: Any,
    num_classes: int,
    ignore_index: int,
    cache_dir: Optional[Union[str, bool]],
    num_workers: Optional[int],
    backend_args: Optional[dict],
    progress: bool,
) -> ClassIndex:
    """Label-map index with the on-disk cache (see the module docstring)."""
    sources = _seg_sources(dataset)
    cache_file = None
    if cache_dir is not False:
        key = _cache_key(dataset, sources, ignore_index)
        cache_file = osp.join(cache_dir or default_cache_dir(), f'{key}.npz')
        if osp.isfile(cache_file):
            index = _load_cache(cache_file, num_classes, len(sources))
            if index is not None:
                return index
    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    t0 = time.time()
    rows = _build_seg(sources, ignore_index, backend_args, num_workers, progress)
    errors = []
    for (path, _, _), row in zip(sources, rows):
        try:
            check_label_values(row, num_classes, ignore_index, f'label map {path}')
        except ValueError as e:
            errors.append(str(e))
    if errors:
        more = f' ({len(errors) - 1} more label maps hold such values)' if len(errors) > 1 else ''
        raise ValueError(errors[0] + more)
    index = ClassIndex.from_lists(rows, num_classes)
    if cache_file is not None:
        try:
            os.makedirs(osp.dirname(cache_file), exist_ok=True)
            tmp = f'{cache_file}.{os.getpid()}.tmp.npz'
            np.savez(tmp, offsets=index.offsets, classes=index.classes)
            os.replace(tmp, cache_file)
        except OSError:
            pass  # read-only cache folder: the index still works, it is only rebuilt
    if progress:
        print(f'class index: {len(rows)} label maps in {time.time() - t0:.1f}s', flush=True)
    return index


def _attempt(
    dataset: Any, progress: bool, kwargs: Dict[str, Any]
) -> Tuple[Optional[ClassIndex], Optional[Exception]]:
    """:func:`build_class_index`, returning its error instead of raising it."""
    try:
        return build_class_index(dataset, progress=progress, **kwargs), None
    except Exception as e:  # noqa: BLE001  (re-raised on every rank by the caller)
        return None, e


def _describe(error: Optional[Exception]) -> Optional[str]:
    """``"<ErrorType>: <message>"`` of an error (what the other ranks are sent), or None."""
    return None if error is None else f'{type(error).__name__}: {error}'


def build_class_index_distributed(dataset: Any, rank: int, world_size: int, **kwargs) -> ClassIndex:
    """:func:`build_class_index` on every rank of a (possibly) distributed run.

    With ``world_size > 1`` and a cache (``cache_dir`` not False), rank 0 builds and caches
    the index first (the only rank that decodes label maps and shows a progress bar); the
    broadcast of its outcome is the barrier after which the other ranks load it from the
    cache. Without a cache every rank builds its own index. Finally every rank's outcome is
    gathered: when any rank failed, every rank raises at once (the failing rank its own
    error, the others a ``RuntimeError`` naming that rank and its error) instead of waiting
    in a later collective until the timeout. Outside a process group the collectives do
    nothing and every rank builds (or loads) on its own.

    Args:
        dataset: The dataset (see :func:`build_class_index`).
        rank (int): This process's rank.
        world_size (int): Number of ranks.
        **kwargs: Further arguments of :func:`build_class_index` except ``progress``.

    Returns:
        ClassIndex: The index (the same on every rank).

    Raises:
        RuntimeError: On the ranks that did not fail themselves, when another rank failed.
    """
    if world_size <= 1:
        return build_class_index(dataset, progress=rank == 0, **kwargs)
    from mmengine.dist import all_gather_object, broadcast_object_list

    index, error = None, None
    first = kwargs.get('cache_dir') is not False  # rank 0 fills the cache for the others
    if first and rank == 0:
        index, error = _attempt(dataset, True, kwargs)
    if first:
        status = [_describe(error)]
        broadcast_object_list(status, src=0)
        if status[0] is not None:
            if error is not None:
                raise error
            raise RuntimeError(f'rank 0 failed to build the class index: {status[0]}')
    if not first or rank != 0:
        index, error = _attempt(dataset, rank == 0, kwargs)
    outcomes = all_gather_object(_describe(error))
    if error is not None:
        raise error
    failed = [(r, s) for r, s in enumerate(outcomes) if s is not None]
    if failed:
        raise RuntimeError(f'rank {failed[0][0]} failed to build the class index: {failed[0][1]}')
    return index
