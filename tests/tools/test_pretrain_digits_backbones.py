"""tools/studies/pretrain_digits_backbones.py and the Tables 5/6 configs: the script trains
the digits classifiers (a 1-iteration schedule here, data under tmp), writes the checkpoints
where it says, and every pretrained-backbone detector config loads them into its backbone
(the keys of the checkpoint's ``backbone.*`` and the detector backbone's match: no key
missing, none unexpected; the loaded tensors equal the checkpoint's)."""

import os.path as osp
from importlib import import_module

import pytest
import torch
from mmengine.registry import init_default_scope

from mmext.registry import MODELS
from tools.studies.harness import load_config

script = import_module('tools.studies.pretrain_digits_backbones')
DET = 'configs/bag_of_freebies/digits/{}_1xb8-{}_digits-det.py'
DETECTORS = [
    DET.format('yolov3_r18-tiny_aug_cls-pretrained', '8e'),
    DET.format('yolov3_r18-tiny_aug-mixup_cls-pretrained', '8e'),
    # Table 2's rows from the pre-trained backbone
    *(
        DET.format(f'yolov3_r18-tiny_{row}_cls-pretrained', '8e')
        for row in ('baseline', 'aug-rs', 'aug-rs-cos', 'aug-rs-cos-ls', 'aug-rs-cos-ls-mixup')
    ),
    DET.format('faster-rcnn_r18-tiny-fpn_cls-pretrained', '1k'),
    DET.format('faster-rcnn_r18-tiny-fpn_coherent-mixup_cls-pretrained', '1k'),
]


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('pretrain')
    data = str(tmp / 'digits_cls')
    opts = [
        'train_cfg.max_iters=1',
        'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'train_dataloader.batch_size=4',
        f'train_dataloader.dataset.data_root={data}',
        'train_dataloader.dataset.max_per_class=10',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'val_dataloader.dataset.data_root={data}',
        'val_dataloader.dataset.max_per_class=2',
        'val_dataloader.dataset.indices=4',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
    ]
    out = tmp / 'pretrained'
    paths = script.main(
        ['--out-dir', str(out), '--work-dir', str(tmp / 'work'), '--cfg-options', *opts]
    )
    return dict(zip(script.BACKBONES, paths))


def test_script_writes_both_checkpoints(checkpoints):
    for name, (_, filename) in script.BACKBONES.items():
        assert osp.basename(checkpoints[name]) == filename and osp.isfile(checkpoints[name])
        ckpt = torch.load(checkpoints[name], map_location='cpu', weights_only=False)
        assert set(ckpt) == {'state_dict', 'meta'}
        assert any(k.startswith('backbone.') for k in ckpt['state_dict'])
        assert ckpt['state_dict']['head.fc.weight'].shape == (10, 128)
    # an existing checkpoint is kept, not retrained
    assert script.main(['--only', 'plain', '--out-dir', osp.dirname(checkpoints['plain'])]) == [
        checkpoints['plain']
    ]


@pytest.mark.parametrize('config', DETECTORS)
@pytest.mark.parametrize('which', ['plain', 'mixup'])
def test_detector_configs_load_the_backbone(config, which, checkpoints):
    cfg = load_config(config)
    init = cfg.model.backbone.init_cfg
    # the configs point where the script writes by default
    assert init.checkpoint == osp.join(script.OUT_DIR, script.BACKBONES['plain'][1])
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    init.checkpoint = checkpoints[which]
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = torch.load(checkpoints[which], map_location='cpu', weights_only=False)['state_dict']
    source = {k[len('backbone.') :]: v for k, v in ckpt.items() if k.startswith('backbone.')}
    target = model.backbone.state_dict()
    missing = sorted(set(target) - set(source))
    unexpected = sorted(set(source) - set(target))
    assert missing == [] and unexpected == [], (missing, unexpected)
    for key, value in source.items():
        assert torch.equal(target[key], value), key
    if 'faster-rcnn' in config:  # normalised as in the pre-training
        assert cfg.model.data_preprocessor.std == [255.0, 255.0, 255.0]
