"""Write (or check) the OpenMMLab model index: ``configs/<paper>/metafile.yml`` and
``model-index.yml``.

    python tools/model_index.py           # regenerate the committed files
    python tools/model_index.py --check   # exit 1 when a committed file is out of date

Schema of mmdet / mmseg ``metafile.yml`` (read by ``mim search`` through ``modelindex``):
``Collections`` (Name, Metadata, Paper, README) and ``Models`` (Name, In Collection, Config,
Metadata, Results: [Task, Dataset, Metrics], Weights). Every config under ``configs/``
(outside ``_base_`` folders) gets one model entry.

Where the numbers come from:

* full-scale configs: the paper's own numbers (``PAPER_RESULTS`` below, transcribed from the
  papers themselves); each such model says so in ``Metadata.Results From`` and
  names the table or section. mmext has not trained these configs, so they carry no Weights.
* digits configs: mmext's measured numbers, read from the result files the repository's
  scripts write: the experiment-harness studies (``docs/results/<study>.json``, e.g.
  ``tce_digits.json``, ``balance_batch_digits.json``; the mean over seeds of the runs that
  trained the config with the study's schedule only) and
  ``benchmarks/results/digits_baselines.json``. ``Metadata`` keeps the command and the
  schedule; ``Weights`` is the checkpoint the command writes (seed 0).
* nothing else: a config without either has no ``Results``.

The output is a pure function of the configs folder and those result files, so rerunning a
study and then this script updates the index (the test checks the committed files are current).
"""

import argparse
import functools
import glob
import json
import os
import os.path as osp
import shlex
import statistics
import sys
from typing import Dict, List, Optional, Tuple

import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _collection(top: str, name: str, architecture: List[str], paper: Tuple[str, ...] = ()) -> dict:
    """A ``Collections`` entry: name, architectures, the paper ``(title, authors, URL)`` when
    there is one and the README of ``configs/<top>``."""
    coll = dict(Name=name, Metadata=dict(Architecture=architecture))
    if paper:
        coll['Paper'] = dict(zip(('Title', 'Authors', 'URL'), paper))
    coll['README'] = f'configs/{top}/README.md'
    return coll


#: top folder of ``configs/`` -> its collection
COLLECTIONS: Dict[str, dict] = {
    'balance_batch': _collection(
        'balance_batch',
        'Balance-batch',
        ['DeepLabV3', 'BalanceBatchSampler', 'Soft Dice loss', 'Soft IoU loss'],
        (
            'Balance-batch: An Optimized Method for Semantic Segmentation Loss Functions',
            'Yifeng Huang et al.',
            'https://arxiv.org/search/?searchtype=title&query=Balance-batch%3A+An+Optimized+Method+for+Semantic+Segmentation+Loss+Functions',
        ),
    ),
    'tilted_ce': _collection(
        'tilted_ce',
        'Tilted Cross-Entropy',
        ['DeepLabV3+', 'TiltedCrossEntropyLoss', 'TiltedClassSampler'],
        (
            'Tilted Cross-Entropy (TCE): Promoting Fairness in Semantic Segmentation',
            'Attila Szabó, Hadi Jamali-Rad, Siva-Datta Mannava',
            'https://arxiv.org/search/?searchtype=title&query=Tilted+Cross-Entropy+%28TCE%29%3A+Promoting+Fairness+in+Semantic+Segmentation',
        ),
    ),
    'bag_of_freebies': _collection(
        'bag_of_freebies',
        'Bag of Freebies',
        ['YOLOv3', 'Faster R-CNN', 'CoherentMixUp', 'Label smoothing', 'Warmup cosine'],
        (
            'Bag of Freebies for Training Object Detection Neural Networks',
            'Zhi Zhang, Tong He, Hang Zhang, Zhongyuan Zhang, Junyuan Xie, Mu Li',
            'https://arxiv.org/abs/1902.04103',
        ),
    ),
    'icu_loss': _collection(
        'icu_loss',
        'ICU Loss',
        ['GaussianClassifier', 'ICUClsHead', 'ICUBBoxHead'],
        (
            'Intra-Class Uncertainty Loss Function for Classification',
            'He Zhu, Shan Yu',
            'https://arxiv.org/search/?searchtype=title&query=Intra-Class+Uncertainty+Loss+Function+for+Classification',
        ),
    ),
    'digits': _collection(
        'digits', 'Digits baselines', ['DeepLabV3+', 'Faster R-CNN', 'YOLOv3', 'ResNet']
    ),
}

_BOF = 'Zhang et al. 2019'
_BB = 'Huang et al., Balance-batch'
_TCE = 'Szabó et al., TCE'
_ICU = 'Zhu & Yu, ICU loss'


def _p(source: str, where: str, metrics: dict) -> dict:
    return dict(source=source, where=where, metrics=metrics)


#: the papers' reported numbers, per config (path relative to ``configs/``)
PAPER_RESULTS: Dict[str, dict] = {
    # Bag of freebies, Table 1 (YOLOv3, VOC07 test, mAP@0.5)
    'bag_of_freebies/yolov3_d53_mixup-even_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 1, 0.5:0.5 evenly', {'mAP': 83.05}
    ),
    'bag_of_freebies/yolov3_d53_mixup-beta1-weighted_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 1, beta(1.0, 1.0) weighted loss', {'mAP': 83.48}
    ),
    'bag_of_freebies/yolov3_d53_mixup-beta1.5-weighted_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 1, beta(1.5, 1.5) weighted loss', {'mAP': 83.54}
    ),
    # Table 2 (YOLOv3, VOC07 test, 416x416, mAP@0.5); Table 1 reports 81.5 for its baseline
    'bag_of_freebies/yolov3_d53_no-aug_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 2, - data augmentation', {'mAP': 64.26}
    ),
    'bag_of_freebies/yolov3_d53_baseline_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 2, baseline (Table 1 baseline: 81.5)', {'mAP': 80.25}
    ),
    'bag_of_freebies/yolov3_d53_syncbn_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 2, + synchronize BN', {'mAP': 80.81}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 2, + random training shapes', {'mAP': 81.23}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 2, + cosine lr schedule', {'mAP': 81.69}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 2, + class label smoothing', {'mAP': 82.14}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py': _p(
        _BOF, 'Table 2, + mixup', {'mAP': 83.68}
    ),
    # Table 3 (Faster R-CNN, VOC07 test, 600x1000, mAP@0.5)
    'bag_of_freebies/faster-rcnn_r50-fpn_no-aug_8xb2-1x_voc0712.py': _p(
        _BOF, 'Table 3, - data augmentation', {'mAP': 77.61}
    ),
    'bag_of_freebies/faster-rcnn_r50-fpn_baseline_8xb2-1x_voc0712.py': _p(
        _BOF, 'Table 3, baseline', {'mAP': 77.77}
    ),
    'bag_of_freebies/faster-rcnn_r50-fpn_cos_8xb2-1x_voc0712.py': _p(
        _BOF, 'Table 3, + cosine lr schedule', {'mAP': 79.59}
    ),
    'bag_of_freebies/faster-rcnn_r50-fpn_cos-ls_8xb2-1x_voc0712.py': _p(
        _BOF, 'Table 3, + class label smoothing', {'mAP': 80.23}
    ),
    'bag_of_freebies/faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_voc0712.py': _p(
        _BOF, 'Table 3, + mixup', {'mAP': 81.32}
    ),
    # Table 4 (COCO val2017, AP 0.5:0.95); Tables 5 / 6 for the mixup pre-training grid
    'bag_of_freebies/faster-rcnn_r50-fpn_baseline_8xb2-1x_coco.py': _p(
        _BOF, 'Table 4, Faster-RCNN R50 Orig', {'bbox_mAP': 36.5}
    ),
    'bag_of_freebies/faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_coco.py': _p(
        _BOF, 'Table 4, Faster-RCNN R50 Our BoF', {'bbox_mAP': 37.6}
    ),
    'bag_of_freebies/faster-rcnn_r101-fpn_baseline_8xb2-1x_coco.py': _p(
        _BOF, 'Table 4, Faster-RCNN R101 Orig', {'bbox_mAP': 39.4}
    ),
    'bag_of_freebies/faster-rcnn_r101-fpn_cos-ls_8xb2-1x_coco.py': _p(
        _BOF, 'Table 6, -Mixup R101 / -Mixup FRCNN', {'bbox_mAP': 39.9}
    ),
    'bag_of_freebies/faster-rcnn_r101-fpn_cos-ls-mixup_8xb2-1x_coco.py': _p(
        _BOF, 'Table 6, -Mixup R101 / +Mixup FRCNN', {'bbox_mAP': 40.1}
    ),
    'bag_of_freebies/faster-rcnn_r101-fpn_cos-ls_mixup-pretrain_8xb2-1x_coco.py': _p(
        _BOF, 'Table 6, +Mixup R101 / -Mixup FRCNN', {'bbox_mAP': 40.1}
    ),
    'bag_of_freebies/faster-rcnn_r101-fpn_cos-ls-mixup_mixup-pretrain_8xb2-1x_coco.py': _p(
        _BOF, 'Table 6, +Mixup R101 / +Mixup FRCNN (= Table 4 R101 Our BoF)', {'bbox_mAP': 41.1}
    ),
    'bag_of_freebies/yolov3_d53_baseline_8xb8-273e_coco.py': _p(
        _BOF, 'Table 4, YOLOv3 Orig', {'bbox_mAP': 33.0}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls_8xb8-273e_coco.py': _p(
        _BOF, 'Table 5, -Mixup darknet53 / -Mixup YOLO3', {'bbox_mAP': 35.0}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-273e_coco.py': _p(
        _BOF, 'Table 5, -Mixup darknet53 / +Mixup YOLO3', {'bbox_mAP': 35.3}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls_mixup-pretrain_8xb8-273e_coco.py': _p(
        _BOF, 'Table 5, +Mixup darknet53 / -Mixup YOLO3', {'bbox_mAP': 36.4}
    ),
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls-mixup_mixup-pretrain_8xb8-273e_coco.py': _p(
        _BOF,
        'Table 5, +Mixup darknet53 / +Mixup YOLO3 (= Table 4 YOLOv3 Our BoF)',
        {'bbox_mAP': 37.0},
    ),
    # Balance-batch, section III text (VOC 2012 aug val; PA = aAcc, MA = mAcc)
    'balance_batch/deeplabv3_r101-d8_ce_1xb9-20k_voc12aug-512x512.py': _p(
        _BB,
        'Sec. III-A, CE batch size 9',
        {'mIoU': 76.353, 'fwIoU': 90.419, 'mAcc': 86.087, 'aAcc': 94.635},
    ),
    'balance_batch/deeplabv3_r101-d8_ce-bb-cl2_1xb9-20k_voc12aug-512x512.py': _p(
        _BB, 'Sec. III-A, CE batch_cl 2', {'mIoU': 73.232}
    ),
    'balance_batch/deeplabv3_r101-d8_ce-bb-cl8_1xb9-20k_voc12aug-512x512.py': _p(
        _BB, 'Sec. III-A, CE batch_cl 8', {'mIoU': 76.658}
    ),
    'balance_batch/deeplabv3_r101-d8_ce-bb-cl12_1xb9-20k_voc12aug-512x512.py': _p(
        _BB, 'Sec. III-A, CE batch_cl 12', {'mIoU': 76.788}
    ),
    'balance_batch/deeplabv3_r101-d8_soft-iou_1xb4-20k_voc12aug-512x512.py': _p(
        _BB,
        'Sec. III-B, Soft IoU batch size 4',
        {'mIoU': 61.945, 'fwIoU': 87.287, 'mAcc': 75.418, 'aAcc': 92.365},
    ),
    'balance_batch/deeplabv3_r101-d8_soft-iou-bb-cl3_1xb4-20k_voc12aug-512x512.py': _p(
        _BB, 'Sec. III-B, Soft IoU batch_cl 3', {'mIoU': 65.389}
    ),
    'balance_batch/deeplabv3_r101-d8_soft-iou-bb-cl4_1xb4-20k_voc12aug-512x512.py': _p(
        _BB,
        'Sec. III-B, Soft IoU batch_cl 4',
        {'mIoU': 65.700, 'fwIoU': 87.443, 'mAcc': 81.407, 'aAcc': 92.318},
    ),
    'balance_batch/deeplabv3_r101-d8_soft-dice_1xb6-20k_voc12aug-512x512.py': _p(
        _BB,
        'Sec. III-C, Soft Dice batch size 6',
        {'mIoU': 73.062, 'fwIoU': 88.775, 'mAcc': 87.959, 'aAcc': 93.351},
    ),
    'balance_batch/deeplabv3_r101-d8_soft-dice-bb-cl7_1xb6-20k_voc12aug-512x512.py': _p(
        _BB, 'Sec. III-C, Soft Dice batch_cl 7', {'mIoU': 73.211}
    ),
    'balance_batch/deeplabv3_r101-d8_soft-dice-bb-cl8_1xb6-20k_voc12aug-512x512.py': _p(
        _BB, 'Sec. III-C, Soft Dice batch_cl 8', {'mIoU': 73.964}
    ),
    # TCE (Cityscapes val); the text we have gives only these cells of Tables 1 and 3
    'tilted_ce/deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py': _p(
        _TCE, 'Table 1, MCCE', {'mIoU': 75.79, 'worstIoU': 48.46}
    ),
    'tilted_ce/deeplabv3plus_r101-d8_stce-t1_4xb2-80k_cityscapes-512x1024.py': _p(
        _TCE,
        'Table 3, TCE t = 1 (worst, std, sorted bottom / top 25 %)',
        {'worstIoU': 53.47, 'stdIoU': 13.57, 'bottom25_mIoU': 64.29, 'top25_mIoU': 94.66},
    ),
    # ICU loss, Table 1 (top-1 accuracy; ImageNet also top-5), Table 2, Table 3
    'icu_loss/mnist/softmax_lenetpp-2d_1xb128-adam-50e_mnist.py': _p(
        _ICU, 'Table 1, Baseline, MNIST 2-D', {'Top 1 Accuracy': 98.18}
    ),
    'icu_loss/mnist/lgm_lenetpp-2d_1xb128-adam-50e_mnist.py': _p(
        _ICU, 'Table 1, L-GM, MNIST 2-D', {'Top 1 Accuracy': 98.83}
    ),
    'icu_loss/mnist/icu_lenetpp-2d_1xb128-adam-50e_mnist.py': _p(
        _ICU, 'Table 1, ICU, MNIST 2-D', {'Top 1 Accuracy': 99.04}
    ),
    'icu_loss/mnist/softmax_lenetpp-100d_1xb128-adam-50e_mnist.py': _p(
        _ICU, 'Table 1, Baseline, MNIST 100-D', {'Top 1 Accuracy': 99.32}
    ),
    'icu_loss/mnist/lgm_lenetpp-100d_1xb128-adam-50e_mnist.py': _p(
        _ICU, 'Table 1, L-GM, MNIST 100-D', {'Top 1 Accuracy': 99.61}
    ),
    'icu_loss/mnist/icu_lenetpp-100d_1xb128-adam-50e_mnist.py': _p(
        _ICU, 'Table 1, ICU, MNIST 100-D', {'Top 1 Accuracy': 99.66}
    ),
    'icu_loss/cifar/softmax_resnet18_1xb256-adam-200e_cifar10.py': _p(
        _ICU, 'Table 1, Baseline, CIFAR-10', {'Top 1 Accuracy': 93.41}
    ),
    'icu_loss/cifar/lgm_resnet18_1xb256-adam-200e_cifar10.py': _p(
        _ICU, 'Table 1, L-GM, CIFAR-10', {'Top 1 Accuracy': 93.99}
    ),
    'icu_loss/cifar/icu_resnet18_1xb256-adam-200e_cifar10.py': _p(
        _ICU, 'Table 1, ICU, CIFAR-10', {'Top 1 Accuracy': 94.38}
    ),
    'icu_loss/cifar/softmax_vgg13bn_1xb128-nesterov-307e_cifar100.py': _p(
        _ICU, 'Table 1 / Table 3, Baseline, CIFAR-100', {'Top 1 Accuracy': 74.39}
    ),
    'icu_loss/cifar/lgm_vgg13bn_1xb128-nesterov-307e_cifar100.py': _p(
        _ICU, 'Table 1, L-GM, CIFAR-100', {'Top 1 Accuracy': 76.06}
    ),
    'icu_loss/cifar/icu_vgg13bn_1xb128-nesterov-307e_cifar100.py': _p(
        _ICU, 'Table 1 / Table 3, ICU (alpha + gamma), CIFAR-100', {'Top 1 Accuracy': 77.80}
    ),
    'icu_loss/cifar/icu_vgg13bn_no-margin_1xb128-nesterov-307e_cifar100.py': _p(
        _ICU, 'Table 3, ICU loss without margins, CIFAR-100', {'Top 1 Accuracy': 76.52}
    ),
    'icu_loss/cifar/icu_vgg13bn_alpha-only_1xb128-nesterov-307e_cifar100.py': _p(
        _ICU, 'Table 3, + alpha, CIFAR-100', {'Top 1 Accuracy': 77.06}
    ),
    'icu_loss/cifar/icu_vgg13bn_gamma-only_1xb128-nesterov-307e_cifar100.py': _p(
        _ICU, 'Table 3, + gamma, CIFAR-100', {'Top 1 Accuracy': 77.37}
    ),
    'icu_loss/imagenet/softmax_resnet101_8xb32-100e_in1k.py': _p(
        _ICU, 'Table 1, Baseline, ImageNet', {'Top 1 Accuracy': 76.50, 'Top 5 Accuracy': 92.45}
    ),
    'icu_loss/imagenet/lgm_resnet101_8xb32-100e_in1k.py': _p(
        _ICU, 'Table 1, L-GM, ImageNet', {'Top 1 Accuracy': 76.65, 'Top 5 Accuracy': 92.84}
    ),
    'icu_loss/imagenet/icu_resnet101_8xb32-100e_in1k.py': _p(
        _ICU, 'Table 1, ICU, ImageNet', {'Top 1 Accuracy': 77.10, 'Top 5 Accuracy': 93.29}
    ),
    'icu_loss/cifar_lt/softmax_resnet32_1xb64-200e_cifar100-lt10.py': _p(
        _ICU, 'Table 3, Baseline, LT-CIFAR-100 ratio 10', {'Top 1 Accuracy': 55.8}
    ),
    'icu_loss/cifar_lt/icu_resnet32_no-margin_1xb64-200e_cifar100-lt10.py': _p(
        _ICU, 'Table 3, ICU loss without margins, LT-CIFAR-100 ratio 10', {'Top 1 Accuracy': 58.0}
    ),
    'icu_loss/cifar_lt/icu_resnet32_alpha-only_1xb64-200e_cifar100-lt10.py': _p(
        _ICU, 'Table 3, + alpha, LT-CIFAR-100 ratio 10', {'Top 1 Accuracy': 58.2}
    ),
    'icu_loss/cifar_lt/icu_resnet32_gamma-only_1xb64-200e_cifar100-lt10.py': _p(
        _ICU, 'Table 3, + gamma, LT-CIFAR-100 ratio 10', {'Top 1 Accuracy': 58.4}
    ),
}
for _ds, _cells in (
    ('cifar100', (('100', 37.3, 39.8), ('50', 41.7, 45.4), ('10', 57.9, 58.8))),
    ('cifar10', (('100', 72.0, 73.4), ('50', 77.1, 79.2), ('10', 87.3, 87.7))),
):
    for _ratio, _lgm, _icu in _cells:
        _name = 'CIFAR-100-LT' if _ds == 'cifar100' else 'CIFAR-10-LT'
        PAPER_RESULTS[f'icu_loss/cifar_lt/lgm_resnet32_1xb64-200e_{_ds}-lt{_ratio}.py'] = _p(
            _ICU, f'Table 2, L-GM, {_name} {_ratio}', {'Top 1 Accuracy': _lgm}
        )
        PAPER_RESULTS[f'icu_loss/cifar_lt/icu_resnet32_1xb64-200e_{_ds}-lt{_ratio}.py'] = _p(
            _ICU, f'Table 2, ICU, {_name} {_ratio}', {'Top 1 Accuracy': _icu}
        )

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


def _checkpoint(run_dir: str, options: List[str], config: str) -> str:
    """Name of the last checkpoint an iteration-based run writes."""
    iters = [o.split('=', 1)[1] for o in options if o.startswith('train_cfg.max_iters=')]
    if iters:
        return f'{run_dir}/iter_{iters[-1]}.pth'
    return f'{run_dir}/last_checkpoint'


_CONFIGS: Dict[str, object] = {}


def _is_noop(config: str, options: List[str]) -> bool:
    """Whether ``--cfg-options`` ``options`` leave ``config`` as it is (e.g. ``tilt=1.0`` on
    a t = 1 config), parsed as ``tools/train.py`` parses them."""
    if not options:
        return True
    from mmengine.config import Config, DictAction

    if config not in _CONFIGS:
        try:
            _CONFIGS[config] = Config.fromfile(osp.join(REPO, config), import_custom_modules=False)
        except Exception:  # e.g. a config that needs a data file to load
            _CONFIGS[config] = None
    cfg = _CONFIGS[config]
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


def harness_results(path: str) -> Dict[str, dict]:
    """Per config: the mean final metrics of a harness study's runs of the config itself.

    A run counts when its ``--cfg-options`` are the seed and the study's schedule only (the
    arms that change the config with further options are variants, not the config).
    """
    with open(path) as f:
        study = json.load(f)
    if not isinstance(study, dict) or 'runs' not in study or study.get('quick'):
        return {}
    schedule = list(study.get('schedule', []))
    by_config: Dict[str, List[dict]] = {}
    for run in study['runs']:
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
        out[config.replace('configs/', '', 1)] = dict(
            metrics=metrics,
            command=f'python {study["command"].split("python ", 1)[-1]}',
            source=rel_json,
            setting=(
                f'mean of seeds {[r["seed"] for r in runs]}; --cfg-options ' + ' '.join(schedule)
            ),
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
            raise ValueError(f'configs/{top}: no collection; add it to COLLECTIONS')
        groups.setdefault(top, []).append(rel)
    unknown = sorted(set(PAPER_RESULTS) - set(config_files()))
    if unknown:
        raise ValueError(f'PAPER_RESULTS names configs that do not exist: {unknown}')
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
