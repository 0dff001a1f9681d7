"""What a finished run logged: mmengine's ``vis_data/scalars.json`` read back into validation
records, training losses and the training scalars a study keeps."""

import glob
import json
import os.path as osp
from typing import Dict, Optional, Sequence

#: keys of a validation record of mmengine's LoggerHook whose evaluator returned no metric
EMPTY_VAL_KEYS = frozenset({'step', 'time', 'data_time'})


def read_scalars(
    work_dir: str,
    primary: str,
    prefixes: Sequence[str] = (),
    fill: Optional[Dict[str, float]] = None,
) -> Dict[str, list]:
    """Validation records, training losses and requested training scalars of one run.

    Args:
        work_dir (str): The run's ``--work-dir`` (mmengine writes
            ``<timestamp>/vis_data/scalars.json`` below it). Only the newest
            ``<timestamp>`` is read: an older one is an interrupted attempt of the run.
        primary (str): A key present in every validation record.
        prefixes (Sequence[str]): Training-scalar prefixes to keep.
        fill (Dict[str, float], optional): Values of metrics missing from a validation
            record (see :class:`~.study.Study`); with ``primary`` in it, a record holding only
            :data:`EMPTY_VAL_KEYS` counts as a validation record.

    Returns:
        dict: ``val`` (records with ``step``), ``loss`` (``[step, loss]`` pairs) and
        ``scalars`` (``[step, {key: value}]`` pairs of the requested prefixes).
    """
    fill = dict(fill or {})
    val, loss, scalars = [], [], []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))[-1:]:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                step = rec.get('step', rec.get('iter'))
                empty_val = primary in fill and 'time' in rec and set(rec) <= EMPTY_VAL_KEYS
                if primary in rec or empty_val:
                    val.append({**fill, **rec})
                    continue
                if 'loss' in rec:
                    loss.append([step, rec['loss']])
                # hooks may log their scalars in records of their own (no 'loss' key)
                kept = {k: v for k, v in rec.items() if any(k.startswith(p) for p in prefixes)}
                if kept:
                    scalars.append([step, kept])
    return dict(val=val, loss=loss, scalars=scalars)
