"""Errors that name the image or label file they come from.

Pillow reports a damaged file (a truncated PNG after an interrupted copy, an empty file) as
``OSError: image file is truncated`` without its path, and OpenMMLab's loaders decode from
memory, so nothing in the traceback says which of thousands of files is broken. mmext's
decoders (the class index of the class-aware samplers, ``tools/analysis``) raise
:func:`damaged_file_error` instead, and the datasets of mmext mix in
:class:`NameDamagedFiles`, which names the damaged file of a sample whose pipeline fails.
"""

from typing import Any, Dict, Optional

#: data-info keys of the files a sample's loading transforms decode, and their description
SAMPLE_FILE_KEYS = (('img_path', 'image'), ('seg_map_path', 'label map'))


def damaged_file_error(path: str, error: BaseException, what: str = 'image') -> OSError:
    """An ``OSError`` naming ``path`` for a file that could not be decoded.

    Args:
        path (str): The file.
        error (BaseException): The decoder's error.
        what (str): What the file is (``'image'``, ``'label map'``).

    Returns:
        OSError: Raise it ``from error``.
    """
    return OSError(
        f'{what} {path} cannot be decoded ({type(error).__name__}: {error}); the '
        'file is damaged or truncated (e.g. by an interrupted copy): restore or '
        'regenerate it'
    )


def image_file_problem(path: str) -> Optional[str]:
    """Why Pillow cannot fully decode the local file ``path``, or None when it can.

    Args:
        path (str): A local file path.

    Returns:
        str | None: ``'<ErrorType>: <message>'``, ``'missing'`` for a file that does not
        exist, or None for a file that decodes.
    """
    import os.path as osp

    from PIL import Image

    if not osp.isfile(path):
        return 'missing'
    try:
        with Image.open(path) as img:
            img.load()
    except Exception as e:  # noqa: BLE001  (any decoder failure is the answer)
        return f'{type(e).__name__}: {e}'
    return None


def sample_error(error: BaseException, info: Dict[str, Any], idx: int) -> BaseException:
    """The error to raise when loading dataset sample ``idx`` failed with ``error``.

    When one of the sample's local files (``img_path``, ``seg_map_path``) cannot be decoded,
    an ``OSError`` naming that file; otherwise ``error`` itself with a note naming the
    sample's files (shown in tracebacks, also those DataLoader workers pass on).

    Args:
        error (BaseException): The pipeline's error.
        info (dict): The sample's data info.
        idx (int): The sample's index.

    Returns:
        BaseException: Raise it ``from error`` (the same object when it is ``error``).
    """
    files = [
        (key, what, info[key]) for key, what in SAMPLE_FILE_KEYS if isinstance(info.get(key), str)
    ]
    for _, what, path in files:
        problem = image_file_problem(path)
        if problem is not None and problem != 'missing':
            return OSError(
                f'dataset sample {idx}: {what} {path} cannot be decoded '
                f'({problem}; the pipeline raised {type(error).__name__}: '
                f'{error}); the file is damaged or truncated (e.g. by an '
                'interrupted copy): restore or regenerate it'
            )
    if files:
        error.add_note(
            f'while loading dataset sample {idx}: '
            + ', '.join(f'{key}={path}' for key, _, path in files)
        )
    return error


class NameDamagedFiles:
    """Dataset mixin: a sample whose pipeline fails names its damaged file.

    Put it before the mmengine dataset class (``class D(NameDamagedFiles, BaseSegDataset)``);
    it wraps ``prepare_data`` (see :func:`sample_error`). The files are only checked after a
    failure, so a working pipeline costs nothing.
    """

    def prepare_data(self, idx: int) -> Any:
        """``super().prepare_data(idx)``; a failure names the sample's damaged file.

        Args:
            idx (int): The sample's index.

        Returns:
            Any: What the pipeline returns.
        """
        try:
            return super().prepare_data(idx)
        except Exception as e:
            raised = sample_error(e, self.get_data_info(idx), idx)
            if raised is e:
                raise
            raise raised from e
