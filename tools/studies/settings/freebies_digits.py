"""Settings shared by the Bag of Freebies digits studies (fixed before any study run).

Four study files, each meant to fit the CPU budget of one study (45 min wall with
``--jobs 2``, about 90 CPU-minutes, 3 seeds; see :data:`COST_NOTE`'s comment):

* :mod:`tools.studies.freebies_yolo_digits` -- Table 2 (tiny YOLOv3, stacked freebies);
* :mod:`tools.studies.freebies_mixup_digits` -- Table 1 (mixup variants on the tiny
  YOLOv3) and the reduced-data variant (250 train images, same iterations);
* :mod:`tools.studies.freebies_frcnn_digits` -- Table 3 (tiny Faster R-CNN, stacked);
* :mod:`tools.studies.freebies_pretrain_digits` -- Tables 5/6 (mixup-pretrained backbones).

Data: the digits detection configs' own ``data/digits_det`` (96x96, 1,000 train images with
imbalance ratio 10, 200 balanced val images); metric: mmdet's ``CocoMetric``
(pycocotools), primary mAP@0.5 (the VOC metric of Tables 1-3), also mAP@[.5:.95].

Schedules (measured costs in :data:`COST_NOTE`): the configs' 8 epochs / 1,000 iterations
leave the from-scratch tiny YOLOv3 far from converged (14.1 mAP), so the YOLOv3 studies first
trained 3x longer (24 epochs = 3,000 iterations, step decay at epochs 18 and 21 as the
configs' 6 and 7 of 8, mixup off for the last 2 epochs as GluonCV's 20 of 200;
:func:`yolo_steps` and :func:`yolo_mixup_off` scale them to other lengths) and the Faster
R-CNN study 2x (2,000 iterations, step decay at 70 % / 90 %); every run validates at 4
points so the report marks a baseline still gaining more than 1 point in its last quarter as
"not converged". Those 24 epochs did not converge the tiny YOLOv3 either; Table 2 from
scratch now uses the length and lr of ``freebies_yolo_lr_pilot.py`` (48 epochs, lr 0.003,
validation every 6 epochs), over a study's budget (see ``freebies_yolo_digits.py``), and so
do Table 1 + reduced data, Table 5 at 48 epochs and Table 2 from the pre-trained backbone.

Every arm of these studies and pilots is a leaf config of :data:`STUDY_CONFIGS` (no
``--cfg-options`` but ``--quick``'s shrinkers, :func:`yolo_quick` / :data:`FRCNN_QUICK`):
the schedules above are written in the study ``_base_`` configs and leaves, not here.
"""

import dataclasses
import functools
from typing import Callable, List, Optional, Sequence, Tuple

from tools.studies.harness import Claim, Study, Variant, build_datasets, load_config

#: the studies' leaf configs (one per arm, no --cfg-options): each study's data and schedule
#: in a ``_base_/`` of its own, each leaf adds one arm on top; leaves shared by studies are
#: one run (the harness copies runs of the same merged config)
STUDY_CONFIGS = 'configs/bag_of_freebies/digits/study'


def leaf(model: str, trick: str, schedule: str, dataset: str = 'digits-det') -> str:
    """A study leaf config: ``{STUDY_CONFIGS}/{model}_{trick}_{schedule}_{dataset}.py``.

    Args:
        model (str): Algorithm and backbone (``'yolov3_r18-tiny'``).
        trick (str): The arm's freebies (``'aug-mixup'``; a pre-trained backbone adds
            ``'_cls-pretrained'`` or ``'_mixup-cls-pretrained'``).
        schedule (str): ``NxbM-<length>[-lr...]`` (``'1xb8-48e-lr3e-3'``).
        dataset (str): The dataset part. Defaults to ``'digits-det'``.

    Returns:
        str: The path relative to the repository.
    """
    return f'{STUDY_CONFIGS}/{model}_{trick}_{schedule}_{dataset}.py'


SEEDS = (0, 1, 2)
VAL_POINTS = 4

# --- tiny YOLOv3 (epoch-based: PipelineSwitchHook switches mixup off by epoch) -----------
YOLO_EPOCHS = 24
YOLO_STEPS = (18, 21)
YOLO_MIXUP_OFF_EPOCHS = 2
REDUCED_TRAIN = 250  # reduced-data variant: the first 250 train images, same iterations
PRETRAINED_YOLO_EPOCHS = 12  # Tables 5/6: pre-trained backbones, half the schedule
PRETRAINED_FRCNN_ITERS = 1000  # the configs' own schedule

# --- tiny Faster R-CNN (iteration-based) ------------------------------------------------
FRCNN_ITERS = 2000
FRCNN_STEPS = (1400, 1800)

PRIMARY = 'coco/bbox_mAP_50'
METRICS = [
    ('mAP@0.5', 'coco/bbox_mAP_50'),
    ('mAP@[.5:.95]', 'coco/bbox_mAP'),
    ('mAP@0.75', 'coco/bbox_mAP_75'),
]
# CocoMetric logs no AP when a model detects nothing on the whole val set: that is an AP of 0
FILL = {key: 0.0 for _, key in METRICS}

QUICK_VAL = ('val_dataloader.dataset.indices=8', 'default_hooks.logger.interval=1')

#: Measured cost (CPU seconds = user + sys of ``tools/train.py``, 10- and 50-iteration runs
#: differenced, niced on the loaded 2-core machine at load ~10, so upper bounds):
#: tiny YOLOv3 without augmentation 0.060 s/iteration; tiny Faster R-CNN with the whole bag
#: 0.16 s/iteration; a YOLOv3 validation of the 200 val images ~3 s; start-up ~13 s per run.
#: Data: 0.6 ms per image without augmentation, 2 ms with expand + RandomCrop + photometric
#: (mmdet's MinIoURandomCrop alone took 17.6 ms, so it is not used), about twice that with
#: mixup. Estimated totals: Table 2 ~80 CPU-min (18 runs x 3,000 iterations at 0.06-0.1 s),
#: Table 1 + reduced data ~85, Table 3 ~75 (12 x 2,000 at <= 0.16 s), Tables 5/6 ~70
#: (12 x 1,500 YOLOv3 + 12 x 1,000 Faster R-CNN + 2 pre-trainings).
COST_NOTE = (
    'Cost: measured upper bounds and per-study estimates in '
    '`tools/studies/settings/freebies_digits.py`.'
)


def yolo_mixup_off(epochs: int = YOLO_EPOCHS) -> int:
    """Epochs without mixup at the end of an ``epochs`` schedule (1,000 train images)."""
    return max(1, round(YOLO_MIXUP_OFF_EPOCHS * epochs / YOLO_EPOCHS))


def yolo_steps(epochs: int = YOLO_EPOCHS) -> List[int]:
    """Epochs of the x0.1 steps of an ``epochs`` schedule (1,000 train images)."""
    return [round(s * epochs / YOLO_EPOCHS) for s in YOLO_STEPS]


# --- the small tiny-YOLOv3 setting (64x64 canvases, stage width 8) ---------------------
#: A converged tiny YOLOv3 needs ~72 epochs at lr 0.01 (``freebies_yolo_schedule_pilot.py``):
#: ~15 min per run at 96x96 and width 16, 2.3 h for Table 2's 18 runs. The small setting
#: shrinks data and model instead of the schedule: every length of the digits detection data
#: x 2/3 (64x64 canvases, digits of 8-27 px, the k-means anchors x 2/3), a ResNet-18 of stage
#: width 8 and a fused AdamW (same update rule); ``benchmarks/yolo_digits_step.py``: 0.54x
#: (baseline) to 0.68x (whole bag) the time per iteration. Random shapes: multiples of 32 in
#: [64, 96] (the 96x96 studies: [64, 128]; no other multiple of 32 lies near 64). **Not used
#: by any study**: ``freebies_yolo_small_pilot.py`` found it a far weaker detector (24.2
#: mAP@0.5 after 72 epochs vs 79.7 at 96x96), i.e. it learns much less per iteration. The
#: pilot's arms are leaves on the setting written as a config,
#: ``study/_base_/yolov3_r18-tiny-w8_aug_1xb8-72e_digits-det64.py``; :func:`small_setting`
#: spells the same setting as ``--cfg-options`` for any tiny YOLOv3 row, for the benchmark
#: (which also times the whole bag in it).
SMALL_CANVAS = 64
SMALL_WIDTH = 8
SMALL_DATA_ROOT = 'data/digits_det64'
SMALL_DIGIT_SIZE = (8, 27)
SMALL_SHAPES = (64, 96)
SMALL_ANCHORS = [
    [(19, 19), (17, 25), (23, 24)],
    [(7, 17), (11, 14), (14, 19)],
    [(3, 11), (7, 9), (9, 11)],
]


def _fmt(value) -> str:
    """``--cfg-options`` spelling of a (nested) list / tuple of numbers."""
    return repr(value).replace(' ', '')


def small_setting(config: str, options: Sequence[str] = ()) -> Tuple[str, ...]:
    """``--cfg-options`` that move a tiny YOLOv3 digits config to the small setting.

    Walks the resolved config (with ``options``) rather than assuming its layout: every
    digits dataset (also inside a ``MultiImageMixDataset``) gets the small data root, canvas
    and digit sizes, every ``Resize`` of its pipelines the small canvas, every
    ``BatchSyncRandomResize`` :data:`SMALL_SHAPES`, both evaluators the small annotations;
    the model gets stage width :data:`SMALL_WIDTH`, :data:`SMALL_ANCHORS` and a fused AdamW.

    Args:
        config (str): Config path relative to the repository root.
        options (Sequence[str]): ``--cfg-options`` applied before (e.g. the schedule).

    Returns:
        Tuple[str, ...]: The options (to add after ``options``).
    """
    cfg = load_config(config, options)
    w = SMALL_WIDTH
    opts = [
        f'model.backbone.base_channels={w}',
        f'model.neck.in_channels={_fmt([8 * w, 4 * w, 2 * w])}',
        f'model.neck.out_channels={_fmt([8 * w, 4 * w, 2 * w])}',
        f'model.bbox_head.in_channels={_fmt([8 * w, 4 * w, 2 * w])}',
        f'model.bbox_head.out_channels={_fmt([16 * w, 8 * w, 4 * w])}',
        f'model.bbox_head.anchor_generator.base_sizes={_fmt(SMALL_ANCHORS)}',
        'optim_wrapper.optimizer.fused=True',
    ]
    for i, aug in enumerate(cfg.model.data_preprocessor.get('batch_augments') or []):
        if aug['type'] == 'BatchSyncRandomResize':
            key = f'model.data_preprocessor.batch_augments.{i}.random_size_range'
            opts.append(f'{key}={_fmt(SMALL_SHAPES)}')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        key, dataset = f'{loader}.dataset', cfg[loader].dataset
        if 'build_cfg' not in dataset:  # a dataset wrapper (mixup)
            key, dataset = f'{key}.dataset', dataset.dataset
        opts += [
            f'{key}.data_root={SMALL_DATA_ROOT}',
            f'{key}.build_cfg.canvas_size={SMALL_CANVAS}',
            f'{key}.build_cfg.digit_size={_fmt(SMALL_DIGIT_SIZE)}',
        ]
        for j, step in enumerate(dataset.pipeline):
            if step['type'] == 'Resize':
                opts.append(f'{key}.pipeline.{j}.scale={_fmt((SMALL_CANVAS, SMALL_CANVAS))}')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        opts.append(f'{evaluator}.ann_file={SMALL_DATA_ROOT}/annotations/instances_val.json')
    return tuple(opts)


def yolo_quick(mixup: bool) -> Tuple[str, ...]:
    """``--quick`` options of a YOLOv3 variant: 4 epochs of 2 iterations, 4 validations."""
    key = 'dataset.dataset' if mixup else 'dataset'
    opts = (
        'train_cfg.max_epochs=4',
        'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=4',
        f'train_dataloader.{key}.indices=16',
    )
    return opts + (('custom_hooks.0.switch_epoch=3',) if mixup else ())


FRCNN_QUICK = (
    'train_cfg.max_iters=4',
    'train_cfg.val_interval=1',
    'default_hooks.checkpoint.interval=4',
) + QUICK_VAL


DATA_LINE = (
    '- data: `mmext.DigitsCocoDataset` of the digits detection configs '
    '(`data/digits_det`: 96x96 canvases with 2-4 real MNIST digits of 12-40 px, '
    '10 classes, 1,000 train images with imbalance ratio 10, 200 balanced val '
    'images from a disjoint digit pool); no flips anywhere (a mirrored digit is '
    'another digit);'
)


def metric_line(primary: str = "mAP@0.5, the VOC metric of the paper's Tables 1-3") -> str:
    """The report's metric line, naming the study's primary metric."""
    return (
        '- metric: COCO-style AP by pycocotools (mmdet `CocoMetric`) in percent; the '
        f'primary metric is {primary}; a model that detects nothing counts as AP 0.'
    )


METRIC_LINE = metric_line()


def detection_study(
    name: str,
    title: str,
    variants: List[Variant],
    claims: List[Claim],
    setup: List[str],
    primary: str = PRIMARY,
    quick: Tuple[str, ...] = QUICK_VAL,
    pretrain: Optional[Callable[[bool], None]] = None,
    step_unit: str = 'iteration',
) -> Study:
    """A freebies digits study: the shared seeds, metrics, scale and fill of these settings.

    Its ``prepare`` builds the digits detection data once (from the first variant's config
    and options), before the parallel runs.

    Args:
        name (str): Slug of the study (``docs/results/<name>.*``).
        title (str): Report title.
        variants (List[Variant]): The arms.
        claims (List[Claim]): The paired comparisons.
        setup (List[str]): Markdown lines of the report's setup.
        primary (str): Metric of the curves and the convergence check. Defaults to
            :data:`PRIMARY`.
        quick (Tuple[str, ...]): ``--cfg-options`` added by ``--quick``. Defaults to
            :data:`QUICK_VAL`.
        pretrain (Callable, optional): ``pretrain(quick)``, called after the data is built
            (``quick`` True under ``--quick``), e.g. to pre-train backbones.
        step_unit (str): ``'epoch'`` for the epoch-based tiny YOLOv3 studies. Defaults to
            ``'iteration'``.

    Returns:
        Study: The study.
    """

    def prepare(study: Study, quick: bool = False) -> None:
        build_datasets(variants[0].config)
        if pretrain is not None:
            pretrain(quick)

    quick_prepare = None if pretrain is None else functools.partial(prepare, quick=True)
    return Study(
        name=name,
        title=title,
        variants=variants,
        seeds=SEEDS,
        metrics=METRICS,
        claims=claims,
        setup=setup,
        primary=primary,
        quick=quick,
        prepare=prepare,
        quick_prepare=quick_prepare,
        scale=100.0,
        fill=FILL,
        step_unit=step_unit,
    )


def yolo_pilot(
    name: str,
    title: str,
    variants: List[Variant],
    setup: List[str],
    prepare: Callable[..., None],
) -> Study:
    """A one-seed pilot of the tiny YOLOv3 digits baseline: no claims, every arm a baseline
    (its curve and convergence are the result), epochs as the validation steps.

    Args:
        name (str): Slug of the pilot (``docs/results/<name>.*``).
        title (str): Report title.
        variants (List[Variant]): The arms.
        setup (List[str]): Markdown lines of the report's setup.
        prepare (Callable): ``prepare(study, quick=False)``, called once before the runs
            (``quick=True`` under ``--quick``).

    Returns:
        Study: The pilot.
    """
    study = detection_study(name, title, variants, [], setup, step_unit='epoch')
    return dataclasses.replace(
        study,
        seeds=(0,),
        prepare=prepare,
        quick_prepare=functools.partial(prepare, quick=True),
        baselines=[v.name for v in variants],
    )
