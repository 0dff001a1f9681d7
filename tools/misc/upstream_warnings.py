"""A ``PYTHONWARNINGS`` value that hides the known deprecation warnings of the host packages.

    PYTHONWARNINGS="$(python tools/misc/upstream_warnings.py)" python tools/...

``tools/demo.sh`` runs its terminal steps so: every import of mmengine warns that
``pkg_resources is deprecated`` (setuptools), every mmseg model build that ``build_loss`` will
be deprecated and that ``avg_non_ignore`` defaults to False, none of which a user of mmext can
act on. Only these messages are hidden (``ignore`` filters on the start of the message), so
mmext's own warnings and any other still show; the runs that log to files keep everything.
A ``PYTHONWARNINGS`` already set is kept after them (it wins where both match).
"""

import os
from typing import Optional, Tuple

#: (start of the message, category) of each hidden warning. ``PYTHONWARNINGS`` separates filters
#: with commas and matches messages literally (case-insensitive), so no comma in them.
UPSTREAM_WARNINGS: Tuple[Tuple[str, str], ...] = (
    # setuptools, imported by mmengine.utils.package_utils (and mmcv, mmdet, mmseg)
    ('pkg_resources is deprecated', 'UserWarning'),
    # mmseg.models.builder.build_loss, which mmseg's own heads call
    ('``build_loss`` would be deprecated', 'UserWarning'),
    # mmseg.models.losses.CrossEntropyLoss built without avg_non_ignore (the mmseg configs)
    ('Default ``avg_non_ignore`` is False', 'UserWarning'),
)


def pythonwarnings(existing: Optional[str] = None) -> str:
    """The ``PYTHONWARNINGS`` value that ignores :data:`UPSTREAM_WARNINGS`.

    Args:
        existing (str, optional): A value to keep after them (later filters take precedence).
            Defaults to the environment's ``PYTHONWARNINGS``.

    Returns:
        str: The comma-separated filters.
    """
    if existing is None:
        existing = os.environ.get('PYTHONWARNINGS', '')
    filters = [f'ignore:{message}:{category}' for message, category in UPSTREAM_WARNINGS]
    return ','.join(filters + ([existing] if existing else []))


if __name__ == '__main__':
    print(pythonwarnings())
