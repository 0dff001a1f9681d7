"""tools/misc/dry_run.py: each config trains 2 iterations, validates and tests on a fake copy
of its dataset in the real layout (tools/misc/fake_datasets.py).

CI runs one config per (paper, dataset) pair plus the configs adding a module the others do
not (:data:`CI_CONFIGS`); every other config of configs/ is marked ``slow``:

    python -m pytest tests/tools/test_dry_run.py -m slow        # the remaining configs
    python -m pytest tests/tools/test_dry_run.py -m 'slow or not slow'   # all of them
"""

import glob
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
dry_run = load_script('tools/misc/dry_run.py')
fake_datasets = dry_run.fake_datasets

MNIST = 'icu_loss/mnist/icu_lenetpp-2d_1xb128-adam-50e_mnist.py'
CIFAR100 = 'icu_loss/cifar/lgm_vgg13bn_1xb128-nesterov-307e_cifar100.py'
CI_CONFIGS = [  # (paper, dataset) pairs; the comment names what the config adds
    'balance_batch/deeplabv3_r101-d8_soft-iou-bb-cl2_1xb4-20k_voc12aug-512x512.py',  # VOC aug, BB
    'tilted_ce/deeplabv3plus_r101-d8_focal_4xb2-80k_cityscapes-512x1024.py',  # alpha tool
    'tilted_ce/deeplabv3plus_r101-d8_tce-img-t1_4xb2-80k_cityscapes-512x1024.py',  # TCE loss
    'tilted_ce/deeplabv3plus_r101-d8_stce-t0p1_4xb4-160k_ade20k-512x512.py',  # sampler + hook
    'bag_of_freebies/yolov3_d53_syncbn-rs-cos-ls-mixup_8xb8-200e_voc0712.py',  # VOC XML, mixup
    'bag_of_freebies/faster-rcnn_r50-fpn_cos-ls-mixup_8xb2-1x_coco.py',  # COCO, weighted RoI
    'bag_of_freebies/pretrain/darknet53_8xb32-mixup_in1k.py',  # ImageNet
    MNIST,
    CIFAR100,
    'icu_loss/cifar_lt/icu_resnet32_1xb64-200e_cifar10-lt100.py',  # CIFAR-10 + LongTailSubset
    'icu_loss/imagenet/icu_resnet101_8xb32-100e_in1k.py',  # ICU head on ResNet-101
    'icu_loss/detection/faster-rcnn_r50-fpn_icu-head_1x_coco.py',  # ICU RoI head
]
ALL_CONFIGS = sorted(
    osp.relpath(p, osp.join(REPO, 'configs'))
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p.split(os.sep)
)
PARAMS = [c if c in CI_CONFIGS else pytest.param(c, marks=pytest.mark.slow) for c in ALL_CONFIGS]


def test_ci_configs_exist():
    assert set(CI_CONFIGS) <= set(ALL_CONFIGS)


@pytest.mark.parametrize('config', PARAMS)
def test_dry_run(config):
    report = dry_run.dry_run(osp.join(REPO, 'configs', config))
    assert report.ok, report.table()
    assert [s.name for s in report.steps] == ['data', 'train', 'test']
    assert report.steps[1].detail.startswith('2 iterations + 1 validation; logged: ')
    assert 'loss' in report.steps[1].detail
    assert not osp.exists(report.root)  # the temporary directory is removed
    # every mmext module of the config ran in the dry run (CPU: mmseg's FocalLoss is
    # replaced by mmext.SegFocalLoss, a note says so)
    assert 'mmext.SafeCheckpointHook' in report.modules or 'digits' in config
    if 'focal' in config and 'digits' not in config:
        assert 'mmext.SegFocalLoss' in report.modules
        assert any('class_pixel_frequency.py' in n for n in report.notes)


def test_existing_dataset_root_untouched(tmp_path, monkeypatch):
    """A real dataset root under the working directory is neither read nor written."""
    real = tmp_path / 'data' / 'mnist'
    real.mkdir(parents=True)
    (real / 'train-images-idx3-ubyte').write_bytes(b'real data')
    monkeypatch.chdir(tmp_path)
    report = dry_run.dry_run(osp.join(REPO, 'configs', MNIST))
    assert report.ok, report.table()
    assert os.listdir(real) == ['train-images-idx3-ubyte']
    assert (real / 'train-images-idx3-ubyte').read_bytes() == b'real data'


def test_unknown_dataset_type_fails_by_name(tmp_path, capsys):
    cfg = tmp_path / 'foo.py'
    cfg.write_text(
        f"_base_ = ['{osp.join(REPO, 'configs', MNIST)}']\n"
        "train_dataloader = dict(dataset=dict(_delete_=True, type='FooDataset', "
        "data_root='data/foo'))\n"
    )
    assert dry_run.main([str(cfg)]) == 1
    out = capsys.readouterr().out
    assert 'no fake layout for dataset type FooDataset' in out
    assert re.search(r'data\s+FAIL', out) and re.search(r'train\s+SKIP', out)
    with pytest.raises(KeyError, match='no fake layout for dataset type mmdet.Foo'):
        fake_datasets.fake_writer('mmdet.Foo')


def test_cfg_options(tmp_path):
    """--cfg-options apply before the dry-run settings; ignored keys are refused by name."""
    config = osp.join(REPO, 'configs', MNIST)
    report = dry_run.dry_run(config, {'max_epochs': 3})
    assert not report.ok and 'variable of the config file' in report.steps[0].error
    assert [s.ok for s in report.steps] == [False, None, None]
    keep = tmp_path / 'keep'
    report = dry_run.dry_run(config, {'model.head.alpha': 0.25}, keep_dir=str(keep))
    assert report.ok, report.table()
    assert Config.fromfile(str(keep / 'train_config.py')).model.head.alpha == 0.25


def test_non_empty_keep_dir_refused(tmp_path, capsys):
    keep = tmp_path / 'keep'
    keep.mkdir()
    (keep / 'mine.txt').write_text('x')
    config = osp.join(REPO, 'configs', MNIST)
    with pytest.raises(FileExistsError, match='not empty'):
        dry_run.dry_run(config, keep_dir=str(keep))
    assert dry_run.main([config, '--keep-dir', str(keep)]) == 2
    assert 'refused' in capsys.readouterr().err
    assert os.listdir(keep) == ['mine.txt']


def test_keep_dir_keeps_the_run(tmp_path):
    keep = tmp_path / 'keep'
    report = dry_run.dry_run(osp.join(REPO, 'configs', CIFAR100), keep_dir=str(keep))
    assert report.ok, report.table()
    assert (keep / 'fake_data' / 'data' / 'cifar100' / 'cifar-100-python' / 'train').is_file()
    assert glob.glob(str(keep / 'work_dir' / 'iter_2.pth'))
    cfg = Config.fromfile(str(keep / 'train_config.py'))
    assert cfg.train_dataloader.dataset.data_root.startswith(str(keep / 'fake_data'))
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)


def test_shrink_px():
    shrink = dry_run.dry_run_config.shrink_px
    assert shrink((2048, 1024)) == (256, 128)
    assert shrink([(320, 320), (608, 608)]) == [(32, 32), (64, 64)]
    assert shrink(416) == 64 and shrink(224) == 32 and shrink(32) == 32


LAYOUT_CONFIGS = {  # a config reading each dataset type of fake_datasets.CANONICAL
    'PascalVOCDataset': 'balance_batch/deeplabv3_r101-d8_ce_1xb9-20k_voc12aug-512x512.py',
    'CityscapesDataset': 'tilted_ce/deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py',
    'ADE20KDataset': 'tilted_ce/deeplabv3plus_r101-d8_mcce_4xb4-160k_ade20k-512x512.py',
    'VOCDataset': 'bag_of_freebies/faster-rcnn_r50-fpn_baseline_8xb2-1x_voc0712.py',
    'CocoDataset': 'bag_of_freebies/faster-rcnn_r50-fpn_baseline_8xb2-1x_coco.py',
    'MNIST': MNIST,
    'CIFAR10': 'icu_loss/cifar/icu_resnet18_1xb256-adam-200e_cifar10.py',
    'CIFAR100': CIFAR100,
    'ImageNet': 'icu_loss/imagenet/icu_resnet101_8xb32-100e_in1k.py',
}


def _leaves(ds: dict) -> list:
    if 'dataset' in ds or 'datasets' in ds:
        subs = [ds['dataset']] if 'dataset' in ds else ds['datasets']
        return [leaf for sub in subs for leaf in _leaves(sub)]
    return [ds]


def _layout_key(ds: dict) -> tuple:
    prefix = ds.get('data_prefix', '')
    if isinstance(prefix, dict):
        prefix = tuple(sorted((k, osp.normpath(v)) for k, v in prefix.items()))
    else:
        prefix = osp.normpath(prefix) if prefix else ''
    root = osp.normpath(ds['data_root']) if ds.get('data_root') else ''
    return ds['type'], root, ds.get('ann_file', ''), prefix, ds.get('split', '')


@pytest.mark.parametrize('dataset_type', sorted(LAYOUT_CONFIGS))
def test_canonical_layouts_are_the_configs(dataset_type):
    """The README trees' dataset settings (fake_datasets.CANONICAL) are the configs' own."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', LAYOUT_CONFIGS[dataset_type]))
    leaves = [
        leaf
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for leaf in _leaves(cfg[key]['dataset'])
    ]
    assert {_layout_key(leaf) for leaf in leaves} == {
        _layout_key(ds) for ds in fake_datasets.CANONICAL[dataset_type]
    }


README_TREE = re.compile(r'<!-- dataset_tree: (\S+) -->\n```text\n(.*?)\n```', re.S)


def test_readme_trees_are_generated():
    """Every "Prepare the data" tree of the paper READMEs is fake_datasets.dataset_tree's."""
    found = set()
    for paper in ('balance_batch', 'tilted_ce', 'bag_of_freebies', 'icu_loss'):
        text = open(osp.join(REPO, 'configs', paper, 'README.md')).read()
        assert '## Prepare the data' in text, paper
        trees = README_TREE.findall(text)
        assert trees, paper
        for dataset_type, tree in trees:
            assert tree == fake_datasets.dataset_tree(dataset_type), (paper, dataset_type)
            found.add(dataset_type)
    assert found == set(fake_datasets.CANONICAL)
