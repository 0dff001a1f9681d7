"""Write (or check) the OpenMMLab model index: ``configs/<paper>/metafile.yml`` and
``model-index.yml``.

    python tools/model_index.py           # regenerate the committed files
    python tools/model_index.py --check   # exit 1 when a committed file is out of date

Schema of mmdet / mmseg ``metafile.yml`` (read by ``mim search`` through ``modelindex``):
``Collections`` (Name, Metadata, Paper, README) and ``Models`` (Name, In Collection, Config,
Metadata, Results: [Task, Dataset, Metrics], Weights). Every config under ``configs/``
(outside ``_base_`` folders) gets one model entry.

What a person writes, per configs folder, is ``configs/<paper>/paper_results.yml`` (read and
checked by ``tools/model_index_data.py``, whose docstring has the full schema; a data file, not
a metafile: ``model-index.yml`` does not import it)::

    Collection: {Name: str, Architecture: [str, ...], Paper: {Title, Authors, URL}}
    Cited As: str                  # e.g. 'Zhang et al. 2019'
    Results:                       # the paper's numbers; {} when none
      <config relative to configs/<paper>/>: {Where: 'Table 1, ...', Metrics: {mAP: 83.05}}

Where the numbers come from:

* full-scale configs: the paper's own numbers (``Results`` of the folder's
  ``paper_results.yml``, transcribed from the papers themselves); each such model says so in
  ``Metadata.Results From`` (``paper: <Cited As>, <Where>``), which names the table or section.
  mmext has not trained these configs, so they carry no Weights.
* digits configs: mmext's measured numbers, read from the result files the repository's
  scripts write: the experiment-harness studies (``docs/results/<study>.json``, e.g.
  ``tce_digits.json``, ``balance_batch_digits.json``; the mean over seeds of the runs that
  trained the config with the study's schedule only; a study whose arms are leaf configs,
  e.g. ``configs/balance_batch/digits/study/``, has no schedule options, so a run of a leaf
  with the seed only is that leaf; a kept copy of a superseded run, whose JSON names another
  study than its file, is skipped) and
  ``benchmarks/results/digits_baselines.json``. ``Metadata`` keeps the command and the
  schedule; ``Weights`` is the checkpoint the command writes (seed 0).
* nothing else: a config without either has no ``Results``.

The output is a pure function of the configs folder (data files included) and those result
files, so rerunning a study and then this script updates the index (the test checks the
committed files are current).
"""

import argparse
import functools
import glob
import json
import os
import os.path as osp
import runpy
import shlex
import statistics
import sys
from typing import Dict, List, Optional, Tuple

import yaml

if not __package__:  # python tools/model_index.py, not -m: tools/_bootstrap.py
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '_bootstrap.py'))

from tools import REPO, model_index_data  # noqa: E402

#: top folder of ``configs/`` -> its ``Collections`` entry, and config (path relative to
#: ``configs/``) -> the paper's numbers ``dict(source, where, metrics)``, from the data files
COLLECTIONS, PAPER_RESULTS = model_index_data.load_all(REPO)

#: dataset suffix of a config name -> (task, dataset)
DATASETS: List[Tuple[str, str, str]] = [
    ('digits-seg', 'Semantic Segmentation', 'mmext long-tailed digits (seg)'),
    ('digits-det', 'Object Detection', 'mmext long-tailed digits (det)'),
    ('digits-cls', 'Image Classification', 'mmext long-tailed digits (cls)'),
    ('voc12aug', 'Semantic Segmentation', 'Pascal VOC 2012 Aug'),
    ('cityscapes', 'Semantic Segmentation', 'Cityscapes'),
    ('ade20k', 'Semantic Segmentation', 'ADE20K'),
    ('voc0712', 'Object Detection', 'Pascal VOC 2007+2012'),
    ('coco', 'Object Detection', 'COCO'),
    ('cifar100-lt', 'Image Classification', 'CIFAR-100-LT'),
    ('cifar10-lt', 'Image Classification', 'CIFAR-10-LT'),
    ('cifar100', 'Image Classification', 'CIFAR-100'),
    ('cifar10', 'Image Classification', 'CIFAR-10'),
    ('mnist', 'Image Classification', 'MNIST'),
    ('in1k', 'Image Classification', 'ImageNet-1k'),
]

#: metrics of a measured seg / det / cls run that go into the index
SEG_KEYS = ('mIoU', 'mAcc', 'aAcc', 'fwIoU', 'worstIoU', 'stdIoU', 'bottom25_mIoU')
#: mmdet ``CocoMetric`` keys (fractions in the logs) -> the index's names, in percent
DET_KEYS = {
    'coco/bbox_mAP': 'bbox_mAP',
    'coco/bbox_mAP_50': 'bbox_mAP_50',
    'coco/bbox_mAP_75': 'bbox_mAP_75',
}


def config_files() -> List[str]:
    """Every config (``configs/`` relative path) outside ``_base_`` folders, sorted."""
    root = osp.join(REPO, 'configs')
    out = []
    for path in glob.glob(osp.join(root, '**', '*.py'), recursive=True):
        rel = osp.relpath(path, root)
        if '_base_' not in rel.split(os.sep):
            out.append(rel.replace(os.sep, '/'))
    return sorted(out)


def task_dataset(rel: str) -> Tuple[str, str]:
    """Task and dataset of a config from the dataset part of its name."""
    stem = osp.splitext(osp.basename(rel))[0]
    dataset_part = stem.rsplit('_', 1)[-1]
    for key, task, dataset in DATASETS:
        if dataset_part.startswith(key):
            return task, dataset
    raise ValueError(
        f'{rel}: no dataset known for the name part {dataset_part!r}; '
        'add it to DATASETS in tools/model_index.py'
    )


def _mean(values: List[float]) -> float:
    return round(statistics.fmean(values), 2)


_CONFIGS: Dict[str, object] = {}


def _load(config: str):
    """``config`` (relative to the repository) loaded once; None when it does not load."""
    from mmengine.config import Config

    if config not in _CONFIGS:
        try:
            _CONFIGS[config] = Config.fromfile(osp.join(REPO, config), import_custom_modules=False)
        except Exception:  # e.g. a config that needs a data file to load
            _CONFIGS[config] = None
    return _CONFIGS[config]


def _checkpoint(run_dir: str, options: List[str], config: str) -> str:
    """Name of the last checkpoint an iteration-based run writes.

    The iterations are those of ``options`` (a study's schedule), else of the config itself
    (a study whose arms are leaf configs); ``last_checkpoint`` (mmengine's pointer file) when
    neither says.
    """
    iters = [o.split('=', 1)[1] for o in options if o.startswith('train_cfg.max_iters=')]
    if iters:
        return f'{run_dir}/iter_{iters[-1]}.pth'
    cfg = _load(config)
    train_cfg = cfg.get('train_cfg') if cfg is not None else None
    if train_cfg and train_cfg.get('type') == 'IterBasedTrainLoop' and 'max_iters' in train_cfg:
        return f'{run_dir}/iter_{train_cfg["max_iters"]}.pth'
    return f'{run_dir}/last_checkpoint'


def _is_noop(config: str, options: List[str]) -> bool:
    """Whether ``--cfg-options`` ``options`` leave ``config`` as it is (e.g. ``tilt=1.0`` on
    a t = 1 config), parsed as ``tools/train.py`` parses them."""
    if not options:
        return True
    from mmengine.config import DictAction

    cfg = _load(config)
    if cfg is None:
        return False
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    for key, value in parser.parse_args(['--cfg-options', *options]).cfg_options.items():
        node = cfg
        for part in key.split('.'):
            try:
                node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                return False
        if node != value:
            return False
    return True


def is_kept_copy(path: str, data: dict) -> bool:
    """Whether a results JSON is a kept copy of a superseded run (e.g. ``tce_digits_4k.json``
    of the study ``tce_digits``): its study name is not its file name. Such copies document
    a former run; the index and the claim tables read the study's own file only."""
    stem = osp.splitext(osp.basename(path))[0]
    return data.get('study', stem) != stem


def harness_results(path: str) -> Dict[str, dict]:
    """Per config: the mean final metrics of a harness study's runs of the config itself.

    A run whose record names its ``config`` (the harness writes it: the leaf config whose
    merged config, with the seed, is the run's id) counts for that config. An older record
    counts when its ``--cfg-options`` are the seed and the study's schedule only (the arms
    that change the config with further options are variants, not the config). Segmentation
    metrics as logged; detection metrics (:data:`DET_KEYS`) in percent.
    """
    with open(path) as f:
        study = json.load(f)
    if not isinstance(study, dict) or 'runs' not in study or study.get('quick'):
        return {}
    if is_kept_copy(path, study):
        return {}
    schedule = list(study.get('schedule', []))
    by_config: Dict[str, List[dict]] = {}
    for run in study['runs']:
        if 'config' in run:  # the leaf config whose merged config the run trained
            by_config.setdefault(run['config'], []).append(run)
            continue
        argv = shlex.split(run['command'])
        config = argv[1]
        opts = argv[argv.index('--cfg-options') + 1 :] if '--cfg-options' in argv else []
        extra = [o for o in opts if not o.startswith('randomness.seed=')]
        if extra[: len(schedule)] != schedule or not _is_noop(config, extra[len(schedule) :]):
            continue
        by_config.setdefault(config, []).append(run)
    out = {}
    rel_json = osp.relpath(path, REPO)
    for config, runs in by_config.items():
        runs = sorted(runs, key=lambda r: r['seed'])
        metrics = {
            k: _mean([r['final'][k] for r in runs])
            for k in SEG_KEYS
            if all(k in r['final'] for r in runs)
        }
        metrics.update(
            {
                name: _mean([100 * r['final'][k] for r in runs])
                for k, name in DET_KEYS.items()
                if all(k in r['final'] for r in runs)
            }
        )
        out[config.replace('configs/', '', 1)] = dict(
            metrics=metrics,
            command=f'python {study["command"].split("python ", 1)[-1]}',
            source=rel_json,
            setting=f'mean of seeds {[r["seed"] for r in runs]}; '
            + ('--cfg-options ' + ' '.join(schedule) if schedule else 'the config as it is'),
            weights=_checkpoint(runs[0]['run_dir'], schedule, config),
        )
    return out


def baseline_results(path: str) -> Dict[str, dict]:
    """Per config: ``benchmarks/digits_baselines.py``'s single run of each digits baseline."""
    with open(path) as f:
        runs = json.load(f)
    out = {}
    for run in runs:
        rel = run['config'].replace('configs/', '', 1)
        metrics = {}
        for key, value in run['metrics'].items():
            short = key.split('/', 1)[-1]
            if key.startswith('coco/') and short in ('bbox_mAP', 'bbox_mAP_50'):
                metrics[short] = round(100 * value, 2)
            elif short in ('mIoU', 'mAcc', 'aAcc'):
                metrics[short] = value
            elif key == 'accuracy/top1':
                metrics['Top 1 Accuracy'] = value
        stem = osp.splitext(osp.basename(rel))[0]
        out[rel] = dict(
            metrics=metrics,
            command='python benchmarks/digits_baselines.py',
            source=osp.relpath(path, REPO),
            setting='seed of the config, one run',
            weights=f'/tmp/mmext_digits_baselines/{stem}/iter_{run["max_iters"]}.pth',
        )
    return out


@functools.lru_cache(maxsize=None)
def measured_results() -> Dict[str, dict]:
    """mmext's measured numbers per config, from every result file the scripts write."""
    out: Dict[str, dict] = {}
    bench = osp.join(REPO, 'benchmarks', 'results', 'digits_baselines.json')
    if osp.isfile(bench):
        out.update(baseline_results(bench))
    for path in sorted(glob.glob(osp.join(REPO, 'docs', 'results', '*.json'))):
        out.update(harness_results(path))
    return out


def model_entry(rel: str, collection: str, measured: Dict[str, dict]) -> dict:
    """One ``Models`` entry."""
    task, dataset = task_dataset(rel)
    entry = dict(
        Name=osp.splitext(osp.basename(rel))[0],
        **{'In Collection': collection},
        Config=f'configs/{rel}',
        Metadata={'Training Data': dataset},
    )
    if rel in PAPER_RESULTS:
        paper = PAPER_RESULTS[rel]
        entry['Metadata']['Results From'] = f'paper: {paper["source"]}, {paper["where"]}'
        entry['Results'] = [dict(Task=task, Dataset=dataset, Metrics=paper['metrics'])]
    elif rel in measured and measured[rel]['metrics']:
        run = measured[rel]
        entry['Metadata'].update(
            {
                'Results From': f'mmext measurement: {run["source"]}',
                'Command': run['command'],
                'Setting': run['setting'],
            }
        )
        entry['Results'] = [dict(Task=task, Dataset=dataset, Metrics=run['metrics'])]
        entry['Weights'] = run['weights']
    return entry


def build() -> Dict[str, str]:
    """Relative path -> YAML text of every file of the index."""
    measured = dict(measured_results())
    groups: Dict[str, List[str]] = {}
    for rel in config_files():
        top = rel.split('/', 1)[0]
        if top not in COLLECTIONS:
            raise ValueError(
                f'configs/{top}: no {model_index_data.DATA_FILE} (its collection); add one '
                '(schema: tools/model_index_data.py)'
            )
        groups.setdefault(top, []).append(rel)
    unknown = sorted(set(PAPER_RESULTS) - set(config_files()))
    if unknown:
        raise ValueError(f'{model_index_data.DATA_FILE} names configs outside the index: {unknown}')
    files = {}
    header = '# Generated by tools/model_index.py; do not edit by hand.\n'
    for top in sorted(groups):
        coll = COLLECTIONS[top]
        doc = dict(
            Collections=[coll],
            Models=[model_entry(rel, coll['Name'], measured) for rel in groups[top]],
        )
        files[f'configs/{top}/metafile.yml'] = header + yaml.safe_dump(
            doc, sort_keys=False, allow_unicode=True, width=100
        )
    files['model-index.yml'] = header + yaml.safe_dump(
        dict(Import=[f'configs/{top}/metafile.yml' for top in sorted(groups)]), sort_keys=False
    )
    return files


def index_problems(index_path: str) -> List[str]:
    """What is wrong with a model index, read by ``modelindex`` as ``mim search`` reads it.

    Args:
        index_path (str): A ``model-index.yml`` whose ``Config`` paths are relative to the
            repository root.

    Returns:
        List[str]: One line per config missing from the index, per entry naming a config
        that does not exist, and per config listed twice; empty when the index is complete.
    """
    from modelindex.load_model_index import load

    listed = [m.config for m in load(index_path).models]
    problems = [f'{c}: listed but not a file' for c in listed if not osp.isfile(osp.join(REPO, c))]
    problems += [
        f'{c}: listed {listed.count(c)} times' for c in sorted(set(listed)) if listed.count(c) > 1
    ]
    problems += [
        f'configs/{c}: not in the index' for c in config_files() if f'configs/{c}' not in listed
    ]
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--check',
        action='store_true',
        help='compare with the committed files instead of writing them',
    )
    args = parser.parse_args(argv)
    files = build()
    stale = []
    for rel, text in files.items():
        path = osp.join(REPO, rel)
        current = open(path, encoding='utf-8').read() if osp.isfile(path) else None
        if current == text:
            continue
        if args.check:
            stale.append(rel)
        else:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
            print(f'wrote {rel}')
    if stale:
        print('out of date (run python tools/model_index.py): ' + ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
