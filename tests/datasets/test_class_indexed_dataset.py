"""mmext.ClassIndexedDataset: get_cat_ids for mmseg datasets, so that mmengine's
ClassBalancedDataset and mmdet's ClassAwareSampler train on segmentation data (mmseg#3104)."""

import math
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import ClassBalancedDataset
from mmengine.registry import init_default_scope
from PIL import Image

from mmext.datasets import ClassIndexedDataset, DigitsSegDataset

FOLDER = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'configs',
    'balance_batch',
    'digits',
)
BUILD = dict(canvas_size=32, digits_per_image=(1, 3), digit_size=(10, 16))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('cid') / 'digits_seg')


def _seg(data_root, pipeline=()):
    return DigitsSegDataset(
        data_root=data_root, split='train', num_images=24, build_cfg=BUILD, pipeline=list(pipeline)
    )


def _classes_from_png(dataset, i, drop_background=True):
    """Read the label map directly: distinct values, 255 and background (0) removed."""
    label = np.asarray(Image.open(dataset.get_data_info(i)['seg_map_path']))
    values = set(np.unique(label).tolist()) - {255}
    return sorted(values - {0} if drop_background else values)


def test_get_cat_ids_are_the_label_map_classes(data_root, tmp_path):
    seg = _seg(data_root)
    with pytest.raises(NotImplementedError):  # mmseg datasets have no get_cat_ids
        seg.get_cat_ids(0)
    wrapped = ClassIndexedDataset(seg, cache_dir=str(tmp_path))
    no_bg = ClassIndexedDataset(seg, exclude_classes=('background',), cache_dir=str(tmp_path))
    assert len(wrapped) == len(seg) == 24
    for i in range(len(seg)):
        assert wrapped.get_cat_ids(i) == _classes_from_png(seg, i, drop_background=False)
        assert no_bg.get_cat_ids(i) == _classes_from_png(seg, i)
    assert wrapped.metainfo['classes'] == seg.metainfo['classes']
    assert wrapped.get_data_info(3)['seg_map_path'] == seg.get_data_info(3)['seg_map_path']


def test_class_balanced_dataset_repeat_factors(data_root, tmp_path):
    """mmengine's repeat factor sampling: r(c) = max(1, sqrt(t / f(c))), image repeat
    ceil(max_c r(c)); computed here from the label maps."""
    seg = _seg(data_root)
    thr = 0.3
    cbd = ClassBalancedDataset(
        ClassIndexedDataset(seg, exclude_classes=('background',), cache_dir=str(tmp_path)),
        oversample_thr=thr,
    )
    cats = [_classes_from_png(seg, i) for i in range(len(seg))]
    freq = {c: sum(c in cs for cs in cats) / len(seg) for c in range(1, 11)}
    repeat = [max([max(1.0, math.sqrt(thr / freq[c])) for c in cs], default=1.0) for cs in cats]
    expected = [i for i, r in enumerate(repeat) for _ in range(math.ceil(r))]
    assert len(cbd) == len(expected) > len(seg)
    assert [cbd._get_ori_dataset_idx(k) for k in range(len(cbd))] == expected


def test_class_aware_sampler_groups_images_by_class(data_root, tmp_path):
    init_default_scope('mmdet')
    from mmdet.datasets.samplers import ClassAwareSampler

    seg = _seg(data_root)
    wrapped = ClassIndexedDataset(seg, exclude_classes=('background',), cache_dir=str(tmp_path))
    sampler = ClassAwareSampler(wrapped, seed=0, num_sample_class=1)
    for c in range(11):
        assert sampler.cat_dict[c] == [i for i in range(len(seg)) if c in _classes_from_png(seg, i)]
    drawn = list(iter(sampler))
    assert len(drawn) == len(sampler) and set(drawn) <= set(range(len(seg)))


def test_wrapper_refuses_a_dataset_without_label_maps():
    class NoMaps:
        metainfo = dict(classes=('a', 'b'))

        def __len__(self):
            return 1

        def get_data_info(self, i):
            return dict(img_path='x.png')

        def get_cat_ids(self, i):
            raise NotImplementedError

    with pytest.raises(TypeError, match='no get_cat_ids'):
        ClassIndexedDataset(NoMaps(), cache_dir=False)


@pytest.mark.parametrize(
    'name',
    [
        'deeplabv3plus_r18-tiny_ce-class-balanced_1xb8-2k_digits-seg.py',
        'deeplabv3plus_r18-tiny_ce-class-aware_1xb8-2k_digits-seg.py',
    ],
)
def test_configs_train_through_runner(name, data_root, tmp_path, monkeypatch):
    from mmengine.runner import Runner

    monkeypatch.setenv('MMEXT_CACHE_DIR', str(tmp_path / 'cache'))
    cfg = Config.fromfile(osp.join(FOLDER, name))
    inner = cfg.train_dataloader.dataset
    inner = inner.dataset if inner.type == 'mmext.ClassIndexedDataset' else inner.dataset.dataset
    inner.update(data_root=data_root, num_images=24, build_cfg=BUILD)
    cfg.model.data_preprocessor.size = (32, 32)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False, batch_size=2)
    cfg.train_cfg.update(max_iters=2, val_interval=1000)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    sampler = runner.train_dataloader.sampler
    if 'class-aware' in name:
        assert type(sampler).__name__ == 'ClassAwareSampler'
    else:
        assert type(runner.train_dataloader.dataset).__name__ == 'ClassBalancedDataset'


def test_out_of_range_label_map_values_raise_naming_the_map(tmp_path):
    """Issue 26: ground truth outside [0, C) (not ignore_index) is never dropped silently."""
    from mmseg.datasets import BaseSegDataset

    for sub in ('img', 'ann'):
        (tmp_path / sub).mkdir()
    for i, arr in enumerate([np.array([[0, 1], [2, 255]]), np.array([[0, 50], [50, 1]])]):
        Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / 'img' / f'{i}.jpg')
        Image.fromarray(arr.astype(np.uint8)).save(tmp_path / 'ann' / f'{i}.png')
    seg = BaseSegDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        metainfo=dict(classes=('x', 'y', 'z')),
        pipeline=[],
    )
    bad = osp.join(str(tmp_path), 'ann', '1.png')
    with pytest.raises(ValueError) as info:
        ClassIndexedDataset(seg, cache_dir=False)
    assert f'{bad} holds ground-truth values [50]' in str(info.value)
    assert '[0, 3)' in str(info.value) and 'ignore_index=255' in str(info.value)
    ClassIndexedDataset(seg, ignore_index=50, cache_dir=False, lazy_init=True)  # lazy: no error
    with pytest.raises(ValueError, match=r'\[255\]'):
        ClassIndexedDataset(seg, ignore_index=50, cache_dir=False)  # 255 now counts
