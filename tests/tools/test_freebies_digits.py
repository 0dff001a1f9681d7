"""The Bag of Freebies digits studies (tools/studies/freebies_*_digits.py) and pilots:
every variant's leaf config, resolved, is the row of the paper's table it claims to be, and
builds. The ``--quick`` runs are in test_studies_freebies.py."""

import math
import os.path as osp
from importlib import import_module

import pytest
from mmengine.registry import init_default_scope

from mmext.registry import HOOKS, MODELS
from tools.studies.harness import load_config

yolo = import_module('tools.studies.freebies_yolo_digits')
mixup = import_module('tools.studies.freebies_mixup_digits')
frcnn = import_module('tools.studies.freebies_frcnn_digits')
yolo_pre = import_module('tools.studies.freebies_yolo_pretrained_digits')
pretrain = import_module('tools.studies.freebies_pretrain_digits')
pretrain_frcnn = import_module('tools.studies.freebies_pretrain_frcnn_digits')
pretrain_yolo = import_module('tools.studies.freebies_pretrain_yolo_digits')
PRETRAINED = 'work_dirs/pretrained/resnet18-tiny_digits-cls.pth'


def resolved(study, variant):
    """The merged config an arm trains (its leaf config; no options)."""
    return load_config(variant.config)


def arm_of(config):
    """A study leaf's name without its schedule and dataset parts (model, trick, backbone)."""
    return osp.basename(config).rsplit('_', 2)[0]


def train_set(cfg):
    ds = cfg.train_dataloader.dataset
    return ds.dataset if ds.type == 'MultiImageMixDataset' else ds


def iterations(cfg):
    """Training iterations of an epoch-based digits config: epochs x ceil(images / 8)."""
    n = train_set(cfg).get('indices', 1000)
    return cfg.train_cfg.max_epochs * math.ceil(n / cfg.train_dataloader.batch_size)


def yolo_row(cfg):
    """The Table 2 ingredients present in a resolved tiny YOLOv3 config."""
    steps = [t['type'] for t in train_set(cfg).pipeline]
    loss = cfg.model.bbox_head.loss_cls
    mixed = cfg.train_dataloader.dataset.type == 'MultiImageMixDataset'
    return dict(
        aug={'Expand', 'RandomCrop', 'PhotoMetricDistortion'} <= set(steps),
        shapes=bool(cfg.model.data_preprocessor.get('batch_augments')),
        cosine=cfg.param_scheduler[0].type == 'mmext.WarmupCosineLR',
        smooth=loss.type == 'mmext.LabelSmoothCrossEntropyLoss',
        mixup=mixed,
    )


# (study, epochs, warm-up end, step milestones, mixup switch epoch, backbone checkpoint, lr,
# validation interval): from scratch 48 epochs = 6,000 iterations at lr 0.003 (the lr pilot's
# choice), steps at 36 and 42 (3/4 and 7/8), mixup off for the last 4, validation every 6;
# from the pre-trained backbone the same schedule
TABLE2 = {
    'scratch': (yolo.STUDY, 48, 1, [36, 42], 44, None, 0.003, 6),
    'pretrained': (yolo_pre.STUDY, 48, 1, [36, 42], 44, PRETRAINED, 0.003, 6),
}


@pytest.mark.parametrize('setting', TABLE2)
def test_table2_rows_stack_one_freebie_each(setting):
    study, epochs, warmup, milestones, switch, ckpt, lr, val_interval = TABLE2[setting]
    init_default_scope('mmdet')
    flags = ['aug', 'shapes', 'cosine', 'smooth', 'mixup']
    expected = {
        name: dict(zip(flags, [k >= i + 1 for i in range(5)]))
        for k, name in enumerate(
            [
                '- data augmentation',
                'baseline',
                '+ random shapes',
                '+ cosine',
                '+ label smoothing',
                '+ mixup',
            ]
        )
    }
    for v in study.variants:
        cfg = resolved(study, v)
        assert yolo_row(cfg) == expected[v.name], v.name
        assert cfg.train_cfg.max_epochs == epochs
        assert cfg.train_cfg.val_interval == val_interval
        assert iterations(cfg) == 125 * epochs
        assert cfg.optim_wrapper.optimizer.lr == lr
        init = cfg.model.backbone.init_cfg
        assert (init is None) if ckpt is None else (init.checkpoint == ckpt)
        if ckpt is not None:
            assert init.type == 'Pretrained' and init.prefix == 'backbone.'
        sched = cfg.param_scheduler
        if expected[v.name]['cosine']:
            assert (sched[0].warmup, sched[0].end) == (warmup, epochs)
        else:
            assert sched[0].end == warmup and sched[1].milestones == milestones
        if expected[v.name]['smooth']:
            loss = cfg.model.bbox_head.loss_cls
            # GluonCV: eps = min(1 / K, 1 / 40) with K = 10 digits
            assert loss.sigmoid_mode == 'gluoncv' and loss.label_smooth_val == 0.025
            assert loss.use_sigmoid and loss.reduction == 'sum'
        if expected[v.name]['shapes']:
            (resize,) = cfg.model.data_preprocessor.batch_augments
            assert resize.random_size_range == (64, 160) and resize.size_divisor == 32
        if expected[v.name]['mixup']:
            assert cfg.model.bbox_head.type == 'mmext.WeightedYOLOV3Head'
            assert cfg.custom_hooks[0].switch_epoch == switch
        MODELS.build(cfg.model)
    assert [v.baseline for v in study.variants] == [
        None,
        '- data augmentation',
        'baseline',
        '+ random shapes',
        '+ cosine',
        '+ label smoothing',
    ]


def test_table1_mixup_variants_and_reduced_data():
    init_default_scope('mmdet')
    got = {}
    for v in mixup.STUDY.variants:
        cfg = resolved(mixup.STUDY, v)
        if cfg.train_dataloader.dataset.type == 'MultiImageMixDataset':
            mix = cfg.train_dataloader.dataset.pipeline[0]
            got[v.name] = (mix.get('ratio'), mix.alpha, mix.beta, cfg.model.bbox_head.type)
        MODELS.build(cfg.model)
        # every arm at Table 2's converged from-scratch setting: lr 0.003, 48 epochs
        assert cfg.model.backbone.init_cfg is None
        assert cfg.optim_wrapper.optimizer.lr == 0.003
        if '250 images' in v.name:
            assert train_set(cfg).indices == 250
            # same number of iterations as the 1,000-image schedule (192 x 32 = 6,144),
            # validated at the same 8 points
            assert abs(iterations(cfg) - 6000) / 6000 < 0.03
            assert cfg.train_cfg.max_epochs == 192 and cfg.train_cfg.val_interval == 24
        else:
            assert iterations(cfg) == 6000 and 'indices' not in train_set(cfg)
            assert cfg.train_cfg.val_interval == 6
            assert not yolo_row(cfg)['shapes'] and not yolo_row(cfg)['cosine']
            assert yolo_row(cfg)['aug']
    assert got == {
        '0.5:0.5 evenly': (0.5, 1.5, 1.5, 'YOLOV3Head'),  # every weight 0.5, unweighted head
        'Beta(1, 1) weighted': (None, 1.0, 1.0, 'mmext.WeightedYOLOV3Head'),
        'Beta(1.5, 1.5) weighted': (None, 1.5, 1.5, 'mmext.WeightedYOLOV3Head'),
        'whole bag, 250 images': (None, 1.5, 1.5, 'mmext.WeightedYOLOV3Head'),
    }
    # Table 1's baseline is Table 2's row "baseline" (Table 2's arms are leaf configs): the
    # same merged config, so the harness reuses its runs
    from tools.studies.harness.runner import Runner

    ours, theirs = mixup.STUDY.variant('baseline'), yolo.STUDY.variant('baseline')
    assert Runner(mixup.STUDY, '/nonexistent').run_id(ours, 0) == Runner(
        yolo.STUDY, '/nonexistent'
    ).run_id(theirs, 0)
    bag = resolved(mixup.STUDY, mixup.STUDY.variant('whole bag, 250 images'))
    assert yolo_row(bag) == dict(aug=True, shapes=True, cosine=True, smooth=True, mixup=True)
    # 4 x the 1,000-image schedule: 192 epochs, warm-up 4, mixup off for the last 16
    assert bag.custom_hooks[0].switch_epoch == 176 and bag.param_scheduler[0].warmup == 4
    assert bag.param_scheduler[0].end == 192
    base = resolved(mixup.STUDY, mixup.STUDY.variant('baseline, 250 images'))
    assert base.param_scheduler[1].milestones == [144, 168] and base.param_scheduler[0].end == 4


def test_table3_rows_stack_one_freebie_each():
    init_default_scope('mmdet')
    for k, v in enumerate(frcnn.STUDY.variants):
        cfg = resolved(frcnn.STUDY, v)
        assert cfg.train_cfg.max_iters == 2000 and cfg.train_cfg.val_interval == 500
        assert cfg.optim_wrapper.optimizer.lr == 2e-3
        sched = cfg.param_scheduler
        if k == 0:
            assert sched[0].end == 100 and sched[1].milestones == [1400, 1800]
        else:
            assert sched[0].type == 'mmext.WarmupCosineLR' and sched[0].end == 2000
            assert sched[0].warmup == 100
        loss = cfg.model.roi_head.bbox_head.loss_cls
        assert (loss.type == 'mmext.LabelSmoothCrossEntropyLoss') == (k >= 2)
        if k >= 2:
            assert loss.label_smooth_val == 0.1 and not loss.use_sigmoid
        mixed = cfg.train_dataloader.dataset.type == 'MultiImageMixDataset'
        assert mixed == (k >= 3)
        assert (cfg.model.roi_head.type == 'mmext.WeightedStandardRoIHead') == (k >= 3)
        MODELS.build(cfg.model)
    # the GluonCV-code arm: the '+ mixup' row with an even mix, whole-loss image weights
    # (RPN included) and mixup off for the last 10 % (iteration 1800 of 2000)
    paper, gluon = (
        resolved(frcnn.STUDY, frcnn.STUDY.variant(n)) for n in ('+ mixup', '+ mixup (GluonCV code)')
    )
    assert gluon.train_dataloader.dataset.pipeline[0] == dict(type='mmext.CoherentMixUp', ratio=0.5)
    assert paper.train_dataloader.dataset.pipeline[0].get('ratio') is None
    assert gluon.model.rpn_head.type == 'mmext.ImageWeightedRPNHead'
    assert gluon.model.roi_head.weighting == 'image' and 'weighting' not in paper.model.roi_head
    (hook,) = gluon.custom_hooks
    assert hook.type == 'mmext.MixupSwitchOffHook' and hook.last_ratio == 0.1
    assert HOOKS.build(dict(hook)).resolve_switch_iter(gluon.train_cfg.max_iters) == 1800
    assert 'custom_hooks' not in paper
    for cfg in (paper, gluon):  # nothing else differs
        cfg.train_dataloader.dataset.pipeline.pop(0), cfg.pop('train_pipeline')
        cfg.model.rpn_head.pop('type'), cfg.model.roi_head.pop('weighting', None)
        cfg.pop('custom_hooks', None), cfg.pop('mixup_ratio', None)
        cfg.pop('mixup_off_ratio', None)
    assert paper.to_dict() == gluon.to_dict()


def test_table6_rerun_is_the_first_run_at_the_table3_schedule():
    init_default_scope('mmdet')
    first = [v for v in pretrain.STUDY.variants if 'Faster' in v.name]
    again = pretrain_frcnn.STUDY.variants
    assert len(first) == len(again) == 4
    for a, b in zip(first, again):
        assert a.name.split(': ')[1] == b.name.split(': ')[1]  # '- pre, - det', ...
        assert arm_of(a.config) == arm_of(b.config)  # another schedule of the same leaf
        cfg_a, cfg_b = resolved(pretrain.STUDY, a), resolved(pretrain_frcnn.STUDY, b)
        assert cfg_a.train_cfg.max_iters == 1000 and cfg_b.train_cfg.max_iters == 2000
        assert cfg_b.train_cfg.val_interval == 500
        assert cfg_b.param_scheduler[1].milestones == [1400, 1800]  # Table 3's steps
        assert cfg_b.param_scheduler[0].end == 100
        # only the loop and the steps differ
        for cfg in (cfg_a, cfg_b):
            cfg.train_cfg.pop('max_iters'), cfg.train_cfg.pop('val_interval')
            cfg.param_scheduler[1].pop('milestones'), cfg.default_hooks.checkpoint.pop('interval')
        assert cfg_a.to_dict() == cfg_b.to_dict()
        ckpt = cfg_b.model.backbone.init_cfg.checkpoint
        assert ckpt == (
            PRETRAINED if '- pre' in b.name else PRETRAINED.replace('_digits', '_mixup_digits')
        )
    table3 = resolved(frcnn.STUDY, frcnn.STUDY.variants[0])
    assert cfg_b.optim_wrapper.optimizer == table3.optim_wrapper.optimizer


def test_table5_rerun_is_the_first_run_at_the_table2_schedule():
    """Each 48-epoch Table 5 arm is the 12-epoch arm with Table 2's loop, steps, lr and
    mixup switch; its '- pre, - det' arm is Table 2's from-scratch baseline with the
    pre-trained backbone."""
    init_default_scope('mmdet')
    first = [v for v in pretrain.STUDY.variants if 'YOLO' in v.name]
    again = pretrain_yolo.STUDY.variants
    assert len(first) == len(again) == 4
    loop = ('max_epochs', 'val_interval')
    for a, b in zip(first, again):
        assert a.name.split(': ')[1] == b.name.split(': ')[1]  # '- pre, - det', ...
        assert arm_of(a.config) == arm_of(b.config)  # another schedule of the same leaf
        cfg_a, cfg_b = resolved(pretrain.STUDY, a), resolved(pretrain_yolo.STUDY, b)
        assert [cfg_a.train_cfg[k] for k in loop] == [12, 3]
        assert [cfg_b.train_cfg[k] for k in loop] == [48, 6] and iterations(cfg_b) == 6000
        assert cfg_b.param_scheduler[1].milestones == [36, 42]
        assert cfg_b.optim_wrapper.optimizer.lr == 0.003 != cfg_a.optim_wrapper.optimizer.lr
        mixed = '+ det' in b.name
        assert (cfg_b.model.bbox_head.type == 'mmext.WeightedYOLOV3Head') == mixed
        if mixed:
            assert cfg_b.custom_hooks[0].switch_epoch == 44
        # only the loop, the steps, the lr and the mixup switch differ
        for cfg in (cfg_a, cfg_b):
            for key in loop:
                cfg.train_cfg.pop(key)
            cfg.param_scheduler[1].pop('milestones'), cfg.optim_wrapper.optimizer.pop('lr')
            cfg.default_hooks.checkpoint.pop('interval')
            if mixed:
                cfg.custom_hooks[0].pop('switch_epoch')
        assert cfg_a.to_dict() == cfg_b.to_dict()
        ckpt = cfg_b.model.backbone.init_cfg.checkpoint
        assert ckpt == (
            PRETRAINED if '- pre' in b.name else PRETRAINED.replace('_digits', '_mixup_digits')
        )
    base = next(v for v in yolo.STUDY.variants if v.name == 'baseline')
    scratch = resolved(yolo.STUDY, base).to_dict()
    pre_base = resolved(pretrain_yolo.STUDY, again[0]).to_dict()
    assert scratch['model']['backbone'].pop('init_cfg') is None
    assert pre_base['model']['backbone'].pop('init_cfg')['checkpoint'] == PRETRAINED
    scratch.pop('pretrained', None), pre_base.pop('pretrained', None)
    assert scratch == pre_base
    # ... and the pre-trained Table 2 study's baseline row (same key: its runs are copied)
    row = next(v for v in yolo_pre.STUDY.variants if v.name == 'baseline')
    assert row.config == again[0].config
    assert yolo_pre.STUDY.seeds == pretrain_yolo.STUDY.seeds


@pytest.mark.parametrize(
    'study',
    [yolo.STUDY, yolo_pre.STUDY, mixup.STUDY, frcnn.STUDY],
)
def test_studies_report_map_in_percent(study):
    assert study.primary == 'coco/bbox_mAP_50' and study.scale == 100.0
    assert study.seeds == (0, 1, 2)
    assert set(study.fill) >= {k for _, k in study.metrics} and not any(study.fill.values())
    assert all(c.metric in dict((k, k) for _, k in study.metrics) for c in study.claims)


SMALL_ROWS = ['baseline', 'aug', 'aug-rs', 'aug-rs-cos-ls', 'aug-mixup', 'aug-rs-cos-ls-mixup']
ROW_8E = 'configs/bag_of_freebies/digits/yolov3_r18-tiny_{}_1xb8-8e_digits-det.py'


@pytest.mark.parametrize('row', SMALL_ROWS)
def test_small_setting_scales_every_length_by_two_thirds(row):
    """``small_setting`` (the --cfg-options of benchmarks/yolo_digits_step.py) on any row."""
    from tools.studies.settings import freebies_digits as fb

    init_default_scope('mmdet')
    config = ROW_8E.format(row)
    big = load_config(config)
    cfg = load_config(config, fb.small_setting(config))
    # every digits dataset: own data root, 64x64 canvases, digits 8-27 px (2/3 of 12-40)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        ds = ds.dataset if ds.type == 'MultiImageMixDataset' else ds
        assert ds.data_root == 'data/digits_det64' != big[loader].dataset.get('data_root')
        assert ds.build_cfg.canvas_size == 64 and tuple(ds.build_cfg.digit_size) == (8, 27)
        resizes = [t for t in ds.pipeline if t['type'] == 'Resize']
        assert resizes and all(tuple(t['scale']) == (64, 64) for t in resizes)
    for evaluator in ('val_evaluator', 'test_evaluator'):
        assert cfg[evaluator].ann_file == 'data/digits_det64/annotations/instances_val.json'
    # anchors: the 96x96 k-means anchors x 2/3, rounded
    for level_big, level in zip(
        big.model.bbox_head.anchor_generator.base_sizes,
        cfg.model.bbox_head.anchor_generator.base_sizes,
    ):
        for (w0, h0), (w, h) in zip(level_big, level):
            assert abs(w - w0 * 2 / 3) <= 0.5 and abs(h - h0 * 2 / 3) <= 0.5
    assert cfg.model.backbone.base_channels == 8
    assert list(cfg.model.bbox_head.in_channels) == [64, 32, 16]
    assert cfg.optim_wrapper.optimizer.fused is True
    if 'rs' in row:
        (resize,) = cfg.model.data_preprocessor.batch_augments
        assert tuple(resize.random_size_range) == (64, 96) and resize.size_divisor == 32
    # nothing else changes: the schedule and the row's freebies are the 96x96 config's
    assert yolo_row(cfg) == yolo_row(big) and cfg.param_scheduler == big.param_scheduler
    MODELS.build(cfg.model)


def test_small_pilot_leaves_are_the_small_setting():
    """The small pilot's _base_ writes the setting ``small_setting`` spells as options: the
    same model, data and evaluators; the arms differ in images and epochs only."""
    from tools.studies.settings import freebies_digits as fb

    small = import_module('tools.studies.pilots.freebies_yolo_small_pilot')
    init_default_scope('mmdet')
    config = ROW_8E.format('aug')
    options = load_config(config, fb.small_setting(config))
    # (images, epochs, validation every, steps)
    expected = [(1000, 72, 6, [54, 63]), (500, 72, 6, [54, 63]), (500, 144, 12, [108, 126])]
    for v, (images, epochs, val_every, steps) in zip(small.STUDY.variants, expected):
        cfg = resolved(small.STUDY, v)
        assert cfg.model == options.model and cfg.optim_wrapper == options.optim_wrapper
        for key in ('val_evaluator', 'test_evaluator', 'test_dataloader'):
            assert cfg[key].to_dict() == options[key].to_dict(), key
        train = cfg.train_dataloader.dataset.to_dict()
        assert train.pop('indices', 1000) == images
        assert train == options.train_dataloader.dataset.to_dict()
        assert cfg.val_dataloader.dataset == options.val_dataloader.dataset
        assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval) == (epochs, val_every)
        assert cfg.param_scheduler[1].milestones == steps
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.default_hooks.checkpoint.interval == epochs


def test_pilot_and_first_tables_5_6_leaves_train_their_schedules():
    """The lr and schedule pilots and the first Tables 5/6 study: Table 2's tiny YOLOv3 leaf
    (and Table 3's step Faster R-CNN leaf) at another length or lr, nothing else changed."""
    lr_pilot = import_module('tools.studies.pilots.freebies_yolo_lr_pilot')
    schedule = import_module('tools.studies.pilots.freebies_yolo_schedule_pilot')
    init_default_scope('mmdet')
    table2 = resolved(yolo.STUDY, yolo.STUDY.variant('baseline')).to_dict()
    runs = [
        (lr_pilot.STUDY, v, lr, e, k) for v, (lr, e, k, _) in zip(lr_pilot.VARIANTS, lr_pilot.ARMS)
    ]
    runs += [(schedule.STUDY, v, 0.01, 72, 6) for v in schedule.VARIANTS]
    runs += [(pretrain.STUDY, v, 0.01, 12, 3) for v in pretrain.VARIANTS if 'YOLO' in v.name]
    for study, v, lr, epochs, val_every in runs:
        cfg = resolved(study, v).to_dict()
        assert cfg['optim_wrapper']['optimizer'].pop('lr') == lr, v.name
        assert cfg['train_cfg'] == dict(
            table2['train_cfg'], max_epochs=epochs, val_interval=val_every
        )
        assert cfg['default_hooks']['checkpoint']['interval'] == epochs
        steps = [round(epochs * 3 / 4), round(epochs * 7 / 8)]
        assert cfg['param_scheduler'][1]['milestones'] == steps
        if '+ det' in v.name:  # weighted mixup, off for the last epoch
            assert cfg['custom_hooks'][0]['switch_epoch'] == epochs - 1
        if 'pre' in v.name:  # a pre-trained backbone: plain, or '+ pre' with mixup
            init = cfg['model']['backbone']['init_cfg']
            mixup = '+ pre' in v.name
            assert init['checkpoint'] == pretrain.CKPT['mixup' if mixup else 'plain']
        else:
            assert cfg['model']['backbone']['init_cfg'] is None
    for v in (v for v in pretrain.VARIANTS if 'Faster' in v.name):
        cfg = resolved(pretrain.STUDY, v)
        assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (1000, 250)
        assert cfg.param_scheduler[1].milestones == [700, 900]
        assert cfg.default_hooks.checkpoint.interval == 1000
        ckpt = pretrain.CKPT['mixup' if '+ pre' in v.name else 'plain']
        assert cfg.model.backbone.init_cfg.checkpoint == ckpt
