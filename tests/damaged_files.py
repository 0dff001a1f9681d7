"""Damaged files for the tests of error messages: a PNG cut short by an interrupted copy."""

import os


def truncate(path: str, keep: float = 0.5) -> str:
    """Cut the file at ``path`` to the first ``keep`` fraction of its bytes, in place.

    Args:
        path (str): The file.
        keep (float): Fraction of the bytes kept (at least one byte is removed).

    Returns:
        str: ``path``.
    """
    size = os.path.getsize(path)
    with open(path, 'r+b') as f:
        f.truncate(min(int(size * keep), size - 1))
    return str(path)
