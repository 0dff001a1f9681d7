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
"""
import hashlib
import io
import json
import os
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

_INDEX_VERSION = 1


class ClassIndex:
    """Sorted class ids of every image of a dataset, in CSR form.

    Args:
        offsets (np.ndarray): ``(num_images + 1,)`` int64; the classes of image ``i`` are
            ``classes[offsets[i]:offsets[i + 1]]``.
        classes (np.ndarray): Concatenated sorted class ids (int64).
        num_classes (int): Number of classes of the dataset (``len(metainfo['classes'])``).
    """

    def __init__(self, offsets: np.ndarray, classes: np.ndarray,
                 num_classes: int) -> None:
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.classes = np.asarray(classes, dtype=np.int64)
        self.num_classes = int(num_classes)
        if self.offsets.ndim != 1 or len(self.offsets) < 1 or self.offsets[0] != 0 \
                or self.offsets[-1] != len(self.classes):
            raise ValueError('offsets must start at 0 and end at len(classes)')
        if len(self.classes) and (self.classes.min() < 0
                                  or self.classes.max() >= self.num_classes):
            raise ValueError(
                f'class ids must lie in [0, {self.num_classes}), got '
                f'[{self.classes.min()}, {self.classes.max()}]')
        self._image_classes: Optional[List[np.ndarray]] = None
        self._by_class: Optional[Tuple[np.ndarray, np.ndarray]] = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def image_classes(self) -> List[np.ndarray]:
        """List[np.ndarray]: Sorted class ids of each image."""
        if self._image_classes is None:
            self._image_classes = np.split(self.classes, self.offsets[1:-1])
        return self._image_classes

    def image_ids(self) -> np.ndarray:
        """Image id of every entry of :attr:`classes` (same length).

        Returns:
            np.ndarray: int64 array, ``image_ids()[k]`` owns ``classes[k]``.
        """
        return np.repeat(
            np.arange(len(self), dtype=np.int64), np.diff(self.offsets))

    def images_of_class(self, c: int) -> np.ndarray:
        """Images containing class ``c``.

        Args:
            c (int): Class id.

        Returns:
            np.ndarray: Sorted int64 image ids.
        """
        if self._by_class is None:
            order = np.argsort(self.classes, kind='stable')
            starts = np.searchsorted(self.classes[order],
                                     np.arange(self.num_classes + 1))
            self._by_class = (self.image_ids()[order], starts)
        images, starts = self._by_class
        return images[starts[c]:starts[c + 1]]

    def class_counts(self) -> np.ndarray:
        """Number of images containing each class.

        Returns:
            np.ndarray: ``(num_classes,)`` int64 counts.
        """
        return np.bincount(self.classes, minlength=self.num_classes)

    def classes_present(self) -> np.ndarray:
        """Classes that occur in at least one image.

        Returns:
            np.ndarray: Sorted int64 class ids.
        """
        return np.flatnonzero(self.class_counts())

    def without(self, exclude: Sequence[int]) -> 'ClassIndex':
        """A copy with the classes in ``exclude`` removed from every image.

        Args:
            exclude (Sequence[int]): Class ids to drop.

        Returns:
            ClassIndex: The filtered index (same number of images).
        """
        if len(exclude) == 0:
            return self
        keep = ~np.isin(self.classes, np.asarray(list(exclude), dtype=np.int64))
        counts = np.bincount(self.image_ids()[keep], minlength=len(self))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return ClassIndex(offsets, self.classes[keep], self.num_classes)

    @classmethod
    def from_lists(cls, image_classes: Sequence[Sequence[int]],
                   num_classes: int) -> 'ClassIndex':
        """Build an index from per-image class lists (duplicates are removed).

        Args:
            image_classes (Sequence[Sequence[int]]): Class ids of each image.
            num_classes (int): Number of classes.

        Returns:
            ClassIndex: The index.
        """
        rows = [np.unique(np.asarray(c, dtype=np.int64)) for c in image_classes]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(r) for r in rows])
        classes = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        return cls(offsets, classes, num_classes)


def default_cache_dir() -> str:
    """Cache folder: ``$MMEXT_CACHE_DIR`` or ``~/.cache/mmext/class_index``.

    Returns:
        str: The folder path.
    """
    return os.environ.get(
        'MMEXT_CACHE_DIR', osp.join(osp.expanduser('~'), '.cache', 'mmext',
                                    'class_index'))


def label_map_classes(path: str,
                      reduce_zero_label: bool = False,
                      label_map: Optional[Dict[int, int]] = None,
                      ignore_index: int = 255,
                      backend_args: Optional[dict] = None) -> np.ndarray:
    """Distinct classes of one label map, decoded as mmseg's ``LoadAnnotations``.

    Args:
        path (str): Label map path (any ``mmengine.fileio`` backend).
        reduce_zero_label (bool): mmseg's ``reduce_zero_label``.
        label_map (dict, optional): mmseg's old-id to new-id mapping.
        ignore_index (int): Value excluded from the result.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        np.ndarray: Sorted int64 class ids.
    """
    from PIL import Image
    if backend_args is None and osp.isfile(path):
        with open(path, 'rb') as f:
            raw = f.read()
    else:
        from mmengine import fileio
        raw = fileio.get(path, backend_args=backend_args)
    with Image.open(io.BytesIO(raw)) as img:
        seg = np.array(img)
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
        sources.append((info['seg_map_path'], bool(info.get('reduce_zero_label', False)),
                        dict(lm) if lm else None))
    return sources


def _cache_key(dataset: Any, sources: List[Tuple[str, bool, Optional[dict]]],
               ignore_index: int) -> str:
    """sha1 over dataset type, label-map paths, sizes, mtimes and decoding options."""
    h = hashlib.sha1()
    h.update(json.dumps([_INDEX_VERSION, type(dataset).__name__, len(sources),
                         int(ignore_index)]).encode())
    for path, rzl, lm in sources:
        try:
            st = os.stat(path)
            stamp = f'{st.st_size}:{st.st_mtime_ns}'
        except OSError:  # remote backend: the path alone
            stamp = '-'
        lm_s = json.dumps(sorted((int(k), int(v)) for k, v in lm.items())) if lm else ''
        h.update(f'{path}|{stamp}|{int(rzl)}|{lm_s}\n'.encode())
    return h.hexdigest()


def resolve_class_ids(exclude_classes: Sequence[Union[int, str]],
                      class_names: Sequence[str]) -> List[int]:
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
                raise ValueError(f'exclude_classes: unknown class name {c!r}; the '
                                 f'dataset classes are {tuple(class_names)}')
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


def _build_seg(sources: List[Tuple[str, bool, Optional[dict]]], ignore_index: int,
               backend_args: Optional[dict], num_workers: int,
               progress: bool) -> List[np.ndarray]:
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
        raise ValueError(f'{type(dataset).__name__} has no metainfo["classes"]; the '
                         'class index needs the number of classes')
    return len(classes)


def build_class_index(dataset: Any,
                      ignore_index: int = 255,
                      exclude_classes: Sequence[Union[int, str]] = (),
                      cache_dir: Optional[Union[str, bool]] = None,
                      num_workers: Optional[int] = None,
                      backend_args: Optional[dict] = None,
                      progress: bool = True) -> ClassIndex:
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
    """
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    if len(dataset) == 0:
        raise ValueError('cannot index an empty dataset')
    num_classes = _num_classes(dataset)
    class_names = dataset.metainfo['classes']
    exclude = resolve_class_ids(exclude_classes, class_names)
    if _has_cat_ids(dataset):
        rows = [sorted(set(int(c) for c in dataset.get_cat_ids(i)))
                for i in range(len(dataset))]
        index = ClassIndex.from_lists(rows, num_classes)
    elif dataset.get_data_info(0).get('seg_map_path') is not None:
        index = _seg_index(dataset, num_classes, ignore_index, cache_dir, num_workers,
                           backend_args, progress)
    else:
        raise TypeError(
            f'{type(dataset).__name__}: no get_cat_ids() and no seg_map_path in its data '
            'infos; cannot tell which classes each image holds')
    return index.without(exclude)


def _has_cat_ids(dataset: Any) -> bool:
    """Whether ``dataset.get_cat_ids`` works (mmengine's default raises)."""
    try:
        dataset.get_cat_ids(0)
    except (NotImplementedError, AttributeError):
        return False
    return True


def _seg_index(dataset: Any, num_classes: int, ignore_index: int,
               cache_dir: Optional[Union[str, bool]], num_workers: Optional[int],
               backend_args: Optional[dict], progress: bool) -> ClassIndex:
    """Label-map index with the on-disk cache (see the module docstring)."""
    sources = _seg_sources(dataset)
    cache_file = None
    if cache_dir is not False:
        key = _cache_key(dataset, sources, ignore_index)
        cache_file = osp.join(cache_dir or default_cache_dir(), f'{key}.npz')
        if osp.isfile(cache_file):
            try:
                with np.load(cache_file) as data:
                    return ClassIndex(data['offsets'], data['classes'], num_classes)
            except (OSError, ValueError, KeyError):
                pass  # unreadable or stale file: rebuild below
    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    t0 = time.time()
    rows = _build_seg(sources, ignore_index, backend_args, num_workers, progress)
    bad = [(s[0], r.max()) for s, r in zip(sources, rows) if len(r) and r.max() >= num_classes]
    if bad:
        raise ValueError(
            f'{len(bad)} label maps hold values >= num_classes={num_classes} that are not '
            f'ignore_index={ignore_index}, e.g. {bad[0][0]} has {bad[0][1]}')
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
