"""Every config of configs/bag_of_freebies parses, builds its train pipeline and heads; a
representative subset builds the whole model; the README maps every config; the schedule
bases give the same learning rates as the rows that inline them."""

import copy
import glob
import importlib
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDER = osp.join(REPO, 'configs', 'bag_of_freebies')
CONFIGS = sorted(glob.glob(osp.join(FOLDER, '**', '*.py'), recursive=True))
NAMES = [osp.relpath(p, FOLDER) for p in CONFIGS]

# whole models built on CPU (Darknet-53 / ResNet-101 cost ~1-2 s each): one per distinct
# component combination; every other config builds its heads only
FULL_BUILD = {
    'yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py',
    'faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_voc0712.py',
    'pretrain/darknet53_8xb32-mixup_in1k.py',
}
_CACHE = {}


def _load(name):
    if name not in _CACHE:
        _CACHE[name] = Config.fromfile(osp.join(FOLDER, name))
    return _CACHE[name]


def _pipelines(dataset_cfg):
    """Every ``pipeline`` list in a (possibly wrapped) dataset config."""
    found = []
    if isinstance(dataset_cfg, dict):
        if isinstance(dataset_cfg.get('pipeline'), list):
            found.append(dataset_cfg['pipeline'])
        for key in ('dataset', 'datasets'):
            sub = dataset_cfg.get(key)
            for item in sub if isinstance(sub, list) else [sub]:
                found += _pipelines(item)
    return found


def test_configs_found():
    assert len(CONFIGS) >= 40
    assert any(n.startswith('digits/') for n in NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_config_parses_and_builds(name):
    cfg = _load(name)
    assert 'mmext' in cfg.custom_imports['imports']
    assert cfg.custom_imports['allow_failed_imports'] is False
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    registry = importlib.import_module(f'{scope}.registry')

    pipelines = _pipelines(cfg.train_dataloader.dataset)
    assert pipelines, 'no train pipeline found'
    for pipeline in pipelines:
        for transform in pipeline:
            registry.TRANSFORMS.build(copy.deepcopy(transform))
    if 'sync_bn' in cfg:
        assert cfg.sync_bn in ('torch', 'mmcv')

    model_cfg = copy.deepcopy(cfg.model)
    if name in FULL_BUILD or name.startswith('digits/'):
        model = registry.MODELS.build(model_cfg)
        assert sum(p.numel() for p in model.parameters()) > 0
    elif scope == 'mmpretrain':  # ResNet-101 classifier: build the head and the mixup
        registry.MODELS.build(model_cfg.head)
        from mmpretrain.models.utils import Mixup

        assert model_cfg.train_cfg.augments.type == 'Mixup'
        assert Mixup(alpha=model_cfg.train_cfg.augments.alpha) is not None
    elif scope == 'mmdet':
        if 'bbox_head' in model_cfg:  # YOLOv3
            model_cfg.bbox_head.update(
                train_cfg=model_cfg.get('train_cfg'), test_cfg=model_cfg.get('test_cfg')
            )
            registry.MODELS.build(model_cfg.bbox_head)
        else:  # Faster R-CNN
            roi = model_cfg.roi_head
            roi.update(train_cfg=model_cfg.train_cfg.rcnn, test_cfg=model_cfg.test_cfg.rcnn)
            registry.MODELS.build(roi)
        registry.MODELS.build(model_cfg.data_preprocessor)


def test_rows_change_what_they_claim():
    """A few cross-row facts the README states."""
    voc = {
        n: _load(n)
        for n in (
            'yolov3_d53_baseline_8xb8-200e_voc0712.py',
            'yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py',
            'yolov3_d53_mixup-even_8xb8-200e_voc0712.py',
        )
    }
    base = voc['yolov3_d53_baseline_8xb8-200e_voc0712.py']
    bof = voc['yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py']
    even = voc['yolov3_d53_mixup-even_8xb8-200e_voc0712.py']
    assert base.model.bbox_head.num_classes == 20
    assert base.val_evaluator.type == 'VOCMetric'
    assert 'sync_bn' not in base and bof.sync_bn == 'torch'
    aug = bof.model.data_preprocessor.batch_augments[0]
    assert aug.type == 'BatchSyncRandomResize' and tuple(aug.random_size_range) == (320, 608)
    assert aug.interval == 10
    assert bof.model.bbox_head.type == 'mmext.WeightedYOLOV3Head'
    assert bof.model.bbox_head.loss_cls.type == 'mmext.LabelSmoothCrossEntropyLoss'
    assert bof.train_dataloader.dataset.pipeline[0].type == 'mmext.CoherentMixUp'
    assert even.train_dataloader.dataset.pipeline[0].ratio == 0.5
    assert even.model.bbox_head.type == 'YOLOV3Head'  # Table 1: unweighted
    # the training sets of every VOC row: 07 + 12 trainval
    files = [d.ann_file for d in bof.train_dataloader.dataset.dataset.datasets]
    assert files == ['VOC2007/ImageSets/Main/trainval.txt', 'VOC2012/ImageSets/Main/trainval.txt']
    frcnn = _load('faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_voc0712.py')
    assert frcnn.train_dataloader.dataset.type == 'RepeatDataset'
    assert frcnn.train_dataloader.dataset.dataset.type == 'MultiImageMixDataset'
    assert frcnn.model.roi_head.type == 'mmext.WeightedStandardRoIHead'
    no_aug = _load('faster-rcnn_r50-fpn_no-aug_8xb2-1x_voc0712.py')
    for voc_set in no_aug.train_dataloader.dataset.dataset.datasets:
        assert [t.type for t in voc_set.pipeline] == [
            'LoadImageFromFile',
            'LoadAnnotations',
            'Resize',
            'PackDetInputs',
        ]


#: full-bag rows that switch mixup off for their last epochs -> number of mixup-free epochs
MIXUP_OFF = {
    'yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py': 20,
    'yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-273e_coco.py': 20,
    'yolov3_d53_syncbn-rs-cos-ls-mixup_mixup-pretrain_8xb8-273e_coco.py': 20,
    'faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_coco.py': 1,
    'faster-rcnn_r101-fpn_cos-ls-mixup_8xb2-1x_coco.py': 1,
    'faster-rcnn_r101-fpn_cos-ls-mixup_mixup-pretrain_8xb2-1x_coco.py': 1,
    'digits/yolov3_r18-tiny_coherent-mixup_1xb8-8e_digits-det.py': 1,
    'digits/yolov3_r18-tiny_bof-all_1xb8-8e_digits-det.py': 1,
    'digits/yolov3_r18-tiny_aug-mixup_1xb8-8e_digits-det.py': 1,
    'digits/yolov3_r18-tiny_aug-mixup_cls-pretrained_1xb8-8e_digits-det.py': 1,
    'digits/yolov3_r18-tiny_aug-rs-cos-ls-mixup_1xb8-8e_digits-det.py': 1,
    'digits/yolov3_r18-tiny_aug-rs-cos-ls-mixup_cls-pretrained_1xb8-8e_digits-det.py': 1,
    'digits/study/yolov3_r18-tiny_aug-rs-cos-ls-mixup_1xb8-48e-lr3e-3_digits-det.py': 4,
    # the study leaves inheriting the switch (off for the last 4 of 48 epochs, 16 of 192 on
    # 250 images, 1 of 12)
    'digits/study/yolov3_r18-tiny_aug-rs-cos-ls-mixup_cls-pretrained_1xb8-48e-lr3e-3_'
    'digits-det.py': 4,
    'digits/study/yolov3_r18-tiny_aug-rs-cos-ls-mixup_1xb8-192e-lr3e-3_digits-det-250img.py': 16,
    'digits/study/yolov3_r18-tiny_aug-mixup_1xb8-48e-lr3e-3_digits-det.py': 4,
    'digits/study/yolov3_r18-tiny_aug-mixup-even_1xb8-48e-lr3e-3_digits-det.py': 4,
    'digits/study/yolov3_r18-tiny_aug-mixup-beta1-weighted_1xb8-48e-lr3e-3_digits-det.py': 4,
    'digits/study/yolov3_r18-tiny_aug-mixup_cls-pretrained_1xb8-48e-lr3e-3_digits-det.py': 4,
    'digits/study/yolov3_r18-tiny_aug-mixup_mixup-cls-pretrained_1xb8-48e-lr3e-3_digits-det.py': 4,
    'digits/study/yolov3_r18-tiny_aug-mixup_cls-pretrained_1xb8-12e_digits-det.py': 1,
    'digits/study/yolov3_r18-tiny_aug-mixup_mixup-cls-pretrained_1xb8-12e_digits-det.py': 1,
}


@pytest.mark.parametrize('name', NAMES)
def test_mixup_switched_off_for_the_last_epochs(name):
    """GluonCV's --no-mixup-epochs: the full-bag rows replace the pipeline of their top-level
    MultiImageMixDataset by the same pipeline without CoherentMixUp (PipelineSwitchHook sets
    ``train_dataloader.dataset.pipeline``, so the mixing wrapper must be the outermost one)."""
    cfg = _load(name)
    hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] == 'PipelineSwitchHook']
    if name not in MIXUP_OFF:
        assert not hooks, name
        return
    (hook,) = hooks
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert hook.switch_epoch == cfg.train_cfg.max_epochs - MIXUP_OFF[name]
    dataset = cfg.train_dataloader.dataset
    mix = [i for i, t in enumerate(dataset.pipeline) if t.type == 'mmext.CoherentMixUp']
    if dataset.type == 'MultiImageMixDataset':
        assert mix == [0]
    else:  # wrapper-free: the partner comes from CoherentMixUp's own cache
        assert len(mix) == 1 and dataset.pipeline[mix[0]].use_cached
    assert list(hook.switch_pipeline) == [t for i, t in enumerate(dataset.pipeline) if i not in mix]


def test_every_row_extends_the_previous_row():
    """Leaf configs of the ablation chains inherit from a config of this folder, except the
    baselines, which inherit from upstream (mmdet/mmpretrain) or mmext's digits configs."""
    for path, name in zip(CONFIGS, NAMES):
        text = open(path, encoding='utf-8').read()
        single = re.search(r"^_base_ = '([^']+)'", text, re.M)
        if single is None:  # a root config: a list of mmext's own model/data/schedule bases
            listed = re.search(r'^_base_ = \[(.*?)\]', text, re.M | re.S).group(1)
            bases = re.findall(r"'([^']+)'", listed)
            assert all(b.startswith(('../../_base_/', 'mmpretrain::', 'mmdet::')) for b in bases)
            continue
        base = single.group(1)
        if name.startswith('digits/study/'):  # a study's _base_ on a digits row, or a leaf
            assert base.startswith('../../' if '/_base_/' in name else './'), name
            assert osp.exists(osp.join(osp.dirname(path), base)), name
        elif 'r101' in name and 'mixup-pretrain' not in name:  # the R50 row + depth 101
            assert base == './' + name.replace('r101', 'r50'), name
        elif ('baseline' in name and 'cls-pretrained' not in name) or name.startswith('pretrain/'):
            assert base.startswith(('mmdet::', 'mmpretrain::', '../../digits/')), name
        else:
            assert base.startswith('./'), name
            assert osp.exists(osp.join(osp.dirname(path), base)), name


def test_readme_maps_every_config():
    readmes = glob.glob(osp.join(FOLDER, '**', 'README.md'), recursive=True)
    mentioned = set()
    for readme in readmes:
        text = open(readme, encoding='utf-8').read()
        for ref in re.findall(r'[\w.\-/:]+\.py', text):
            if not ref.startswith(('../../', 'mmdet::', 'mmpretrain::')):  # upstream bases
                mentioned.add(osp.basename(ref))
    for name in NAMES:
        assert osp.basename(name) in mentioned, f'{name} is not in a README'
    # the study leaves of digits/study/ (one per study arm), each linked from the map of
    # digits/README.md
    digits_readme = open(osp.join(FOLDER, 'digits', 'README.md'), encoding='utf-8').read()
    study = [n for n in NAMES if n.startswith('digits/study/') and '/_base_/' not in n]
    assert len(study) == 49
    for name in study:
        assert f'](study/{osp.basename(name)})' in digits_readme, name
    for ref in mentioned:
        if ref.startswith(('yolov3_', 'faster-rcnn_', 'resnet101_', 'darknet53_')):
            assert any(osp.basename(n) == ref for n in NAMES), f'README names missing {ref}'


@pytest.mark.parametrize(
    'row',
    [
        'yolov3_d53_syncbn-rs-cos_8xb8-200e_voc0712.py',
        'yolov3_d53_syncbn-rs-cos_8xb8-273e_coco.py',
    ],
)
def test_warmup_cosine_rows_equal_mmengine_linear_then_cosine(row):
    """The rows' mmext.WarmupCosineLR gives mmengine's LinearLR (warm-up epochs) followed by
    CosineAnnealingLR (to the end) at every step, with the row's own values."""
    tool = load_script('tools/analysis/plot_lr_schedule.py')
    row_cfg = _load(row)
    (ours_cfg,) = row_cfg.param_scheduler
    assert ours_cfg.type == 'mmext.WarmupCosineLR'
    ref_cfg = copy.deepcopy(row_cfg)
    ref_cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=ours_cfg.warmup_start_factor,
            begin=0,
            end=ours_cfg.warmup,
            by_epoch=True,
            convert_to_iter_based=True,
        ),
        dict(
            type='CosineAnnealingLR',
            eta_min=ours_cfg.eta_min,
            begin=ours_cfg.warmup,
            end=ours_cfg.end,
            by_epoch=True,
            convert_to_iter_based=True,
        ),
    ]
    length = 3
    ref = tool.compute_schedule(ref_cfg, iters_per_epoch=length)['values']
    ours = tool.compute_schedule(row_cfg, iters_per_epoch=length)['values']
    assert len(ref) == len(ours) == row_cfg.train_cfg.max_epochs * length
    assert ours == pytest.approx(ref, rel=1e-7, abs=1e-12)
    assert max(ours) == pytest.approx(row_cfg.optim_wrapper.optimizer.lr, rel=0.02)
    assert ours[-1] < 1e-3 * max(ours)


def test_sync_bn_conversion_of_a_built_model():
    """sync_bn='torch' -> mmengine converts every BN of the model (as the Runner does when
    distributed); on CPU SyncBatchNorm cannot synchronise (GPU only)."""
    from mmengine.model import convert_sync_batchnorm

    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    cfg = _load('digits/yolov3_r18-tiny_baseline_1xb8-8e_digits-det.py')
    model = convert_sync_batchnorm(MODELS.build(cfg.model), 'torch')
    norms = torch.nn.modules.batchnorm._BatchNorm
    kinds = {type(m) for m in model.modules() if isinstance(m, norms)}
    assert kinds == {torch.nn.SyncBatchNorm}


@pytest.mark.parametrize(
    'name',
    [
        'yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py',
        'faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_voc0712.py',
    ],
)
def test_mixup_train_pipeline_runs_on_synthetic_images(name):
    """The BoF training pipeline of the config, in its MultiImageMixDataset wrapper, turns
    loaded samples into packed inputs whose per-object weights match the boxes."""
    import numpy as np
    from mmdet.datasets import MultiImageMixDataset
    from mmdet.structures.bbox import HorizontalBoxes
    from mmengine.dataset import BaseDataset

    class Loaded(BaseDataset):
        """Three already-'loaded' images with boxes (what LoadImageFromFile +
        LoadAnnotations return)."""

        def load_data_list(self):
            return [dict(idx=i) for i in range(3)]

        def prepare_data(self, idx):
            rng = np.random.default_rng(idx)
            h, w = 300 + 20 * idx, 400 - 30 * idx
            boxes = np.array([[10, 20, 120, 200], [150, 40, 290, 260]], dtype=np.float32)
            return dict(
                img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
                img_shape=(h, w),
                ori_shape=(h, w),
                img_id=idx,
                img_path=f'{idx}.jpg',
                gt_bboxes=HorizontalBoxes(boxes + idx),
                gt_bboxes_labels=np.array([idx, idx + 1], dtype=np.int64),
                gt_ignore_flags=np.array([False, False]),
            )

    init_default_scope('mmdet')
    cfg = _load(name)
    mix_cfg = cfg.train_dataloader.dataset
    if mix_cfg.type != 'MultiImageMixDataset':
        mix_cfg = mix_cfg.dataset
    mix = MultiImageMixDataset(Loaded(), copy.deepcopy(mix_cfg.pipeline))
    np.random.seed(0)
    weights = []
    for i in range(6):
        packed = mix[i % 3]
        gt = packed['data_samples'].gt_instances
        assert len(gt.weights) == len(gt.bboxes) == len(gt.labels) > 0
        assert torch.all((gt.weights >= 0) & (gt.weights <= 1))
        weights.append(gt.weights)
        assert packed['inputs'].shape[0] == 3
        if 'yolov3' in name:
            assert tuple(packed['inputs'].shape[1:]) == (416, 416)
    assert torch.cat(weights).min() < 1  # the images were mixed (Beta(1.5, 1.5) ratios)


def test_random_shapes_follow_section_3_6():
    """The '+ random training shapes' batch augment draws square sizes in {320, ..., 608}
    (step 32) and changes the size every 10 iterations only."""
    from mmdet.structures import DetDataSample
    from mmengine.logging import MessageHub
    from mmengine.structures import InstanceData

    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    cfg = _load('yolov3_d53_syncbn-rs_8xb8-200e_voc0712.py')
    resize = MODELS.build(copy.deepcopy(cfg.model.data_preprocessor.batch_augments[0]))
    hub = MessageHub.get_instance('bof_random_shapes')
    torch.manual_seed(0)
    import random

    random.seed(0)
    sizes = []
    for it in range(100):
        hub.update_info('iter', it)
        sample = DetDataSample(metainfo=dict(img_shape=(416, 416), pad_shape=(416, 416)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 10.0, 100.0, 100.0]]))
        inputs, _ = resize(torch.zeros(1, 1, 416, 416), [sample])
        sizes.append(tuple(inputs.shape[-2:]))
    assert all(h == w and h % 32 == 0 and 320 <= h <= 608 for h, w in sizes)
    assert sizes[:10] == [(416, 416)] * 10
    changes = [i for i in range(1, 100) if sizes[i] != sizes[i - 1]]
    assert changes and all(i % 10 == 0 for i in changes)
    assert len(set(sizes)) >= 4  # 100 iterations = 10 draws over 10 sizes


def test_faster_rcnn_digits_bof_trains_with_weighted_roi_losses(tmp_path, monkeypatch):
    """Three real training iterations of the digits Faster R-CNN with all freebies: mixed
    samples reach WeightedStandardRoIHead with their per-object weights (some < 1), and the
    weighted RoI losses are finite."""
    from mmengine.runner import Runner

    from mmext.models.heads.weighted_roi_head import WeightedStandardRoIHead

    cfg = copy.deepcopy(_load('digits/faster-rcnn_r18-tiny-fpn_bof-all_1xb8-1k_digits-det.py'))
    inner = cfg.train_dataloader.dataset.dataset
    inner.update(data_root=str(tmp_path / 'data'), num_images=16)
    cfg.train_dataloader.update(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3, val_interval=100000)
    for key in (
        'val_dataloader',
        'val_cfg',
        'val_evaluator',
        'test_dataloader',
        'test_cfg',
        'test_evaluator',
    ):
        cfg[key] = None
    cfg.default_hooks.update(
        checkpoint=dict(type='CheckpointHook', interval=100000),
        logger=dict(type='LoggerHook', interval=1),
    )
    cfg.work_dir = str(tmp_path / 'work')
    seen, losses = [], []
    original = WeightedStandardRoIHead.sample_weights
    original_loss = WeightedStandardRoIHead.loss

    def spy_weights(self, sampling_results, batch_gt_weights):
        weights = original(self, sampling_results, batch_gt_weights)
        seen.append(weights.detach().clone())
        return weights

    def spy_loss(self, *args, **kwargs):
        out = original_loss(self, *args, **kwargs)
        losses.append({k: float(v.detach()) for k, v in out.items() if k.startswith('loss')})
        return out

    monkeypatch.setattr(WeightedStandardRoIHead, 'sample_weights', spy_weights)
    monkeypatch.setattr(WeightedStandardRoIHead, 'loss', spy_loss)
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.model.roi_head, WeightedStandardRoIHead)
    runner.train()
    assert len(seen) == len(losses) == 3
    roi_weights = torch.cat(seen)
    assert torch.all((roi_weights >= 0) & (roi_weights <= 1))
    assert bool((roi_weights < 1).any())  # mixed objects are down-weighted
    assert all(torch.isfinite(torch.tensor(list(item.values()))).all() for item in losses)


def test_digits_crop_varies_both_sides_and_fills_the_canvas():
    """The augmented tiny YOLOv3 crops 30-100 % of *each* side (mmdet's 'relative_range' reads
    crop_size as (min h, min w); (0.3, 1.0) cropped the height only) and stretches the crop to
    the training size as GluonCV (issue 29). 200 draws on a 200x300 image."""
    import numpy as np
    from mmdet.registry import TRANSFORMS
    from mmdet.structures.bbox import HorizontalBoxes

    init_default_scope('mmdet')
    cfg = _load('digits/yolov3_r18-tiny_aug_1xb8-8e_digits-det.py')
    steps = {step['type']: step for step in cfg.aug_pipeline}
    # the crop's size does not depend on allow_negative_crop (which only returns None for a
    # crop without objects; these test images have none)
    crop = TRANSFORMS.build(dict(copy.deepcopy(steps['RandomCrop']), allow_negative_crop=True))
    resize = TRANSFORMS.build(copy.deepcopy(steps['Resize']))
    np.random.seed(0)
    h_share, w_share = [], []
    for _ in range(200):
        results = dict(img=np.zeros((200, 300, 3), np.uint8), img_shape=(200, 300))
        results['gt_bboxes'] = HorizontalBoxes(torch.zeros(0, 4))
        results['gt_bboxes_labels'] = np.zeros(0, np.int64)
        results['gt_ignore_flags'] = np.zeros(0, bool)
        out = crop(results)
        h, w = out['img'].shape[:2]
        h_share.append(h / 200)
        w_share.append(w / 300)
        assert resize(out)['img'].shape[:2] == (96, 96)  # stretched to the canvas
    for share in (h_share, w_share):
        assert 0.3 <= min(share) < 0.4 and max(share) > 0.95  # spans 30-100 %
        assert np.std(share) > 0.15  # uniform on [0.3, 1]: std 0.20
    assert abs(np.corrcoef(h_share, w_share)[0, 1]) < 0.2  # drawn independently


def test_digits_random_shapes_average_above_the_test_size():
    """GluonCV trains on average larger than it tests (320-608 around 416: 1.12x); the digits
    rows draw multiples of 32 in [64, 160] around the test size 96 (issue 29)."""
    import numpy as np

    cfg = _load('digits/yolov3_r18-tiny_aug-rs_1xb8-8e_digits-det.py')
    resize = cfg.model.data_preprocessor.batch_augments[0]
    low, high = resize.random_size_range
    sizes = list(range(low, high + 1, resize.size_divisor))
    test_size = cfg.canvas_size
    assert sizes == [64, 96, 128, 160] and np.mean(sizes) / test_size >= 1.0
    assert np.mean(range(320, 609, 32)) / 416 == pytest.approx(1.115, abs=1e-3)


@pytest.mark.parametrize(
    'name',
    [
        'digits/yolov3_r18-tiny_bof-all_1xb8-8e_digits-det.py',
        'digits/faster-rcnn_r18-tiny-fpn_bof-all_1xb8-1k_digits-det.py',
    ],
)
def test_digits_detectors_keep_100_detections(name):
    """mmdet's default and GluonCV's 100 detections per image, not 20 (issue 29)."""
    test_cfg = _load(name).model.test_cfg
    assert test_cfg.get('rcnn', test_cfg).max_per_img == 100
