"""The study modules of tools/studies: every variant's leaf config resolves,
the settings are fixed in the file, and ``--quick`` runs the Tilted-CE study end to end
(harness, real tools/train.py runs, report, plot) -- a check of the path, not the numbers."""

import glob
import json
import os
import os.path as osp
from importlib import import_module

import pytest
from mmengine.config import Config

from tools.studies import harness

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
bb = import_module('tools.studies.balance_batch_digits')
tce = import_module('tools.studies.tce_digits')
icu = import_module('tools.studies.icu_digits')
fb_mixup = import_module('tools.studies.freebies_mixup_digits')
fb_frcnn = import_module('tools.studies.freebies_frcnn_digits')
fb_yolo = import_module('tools.studies.freebies_yolo_digits')


def resolved(study, variant, tmp_path):
    """The config an arm trains: its leaf config as it is (no options)."""
    return Config.fromfile(osp.join(REPO, variant.config))


def test_balance_batch_variants(tmp_path):
    study = bb.STUDY
    assert study.seeds == (0, 1, 2)
    # every arm is a leaf config of the study's folder, no options; every leaf is an arm
    leaves = glob.glob(osp.join(REPO, bb.STUDY_CONFIGS, '*.py'))
    assert sorted(v.config for v in study.variants) == sorted(
        osp.relpath(p, REPO).replace(os.sep, '/') for p in leaves
    )
    for v in study.variants:
        cfg = resolved(study, v, tmp_path)
        assert cfg.train_dataloader.dataset.build_cfg.canvas_size == 48
        assert cfg.model.data_preprocessor.size == (48, 48)
        assert cfg.param_scheduler[1].end == 4000
        assert cfg.train_cfg.max_iters == 4000 and cfg.train_cfg.val_interval == 1000
        # the configs' own lr for every arm; the paper's SGD arms at its lr (Sec. III)
        assert cfg.optim_wrapper.optimizer.lr == (2.5e-4 if ' SGD' in v.name else 2e-3)
        assert cfg.model.auxiliary_head is None
        assert cfg.model.backbone.base_channels == 16 and cfg.model.decode_head.channels == 64
        assert cfg.model.decode_head.norm_cfg.type == 'GN'
        sampler = cfg.train_dataloader.get('batch_sampler')
        if ' + BB' in v.name:
            assert sampler.type == 'mmext.BalanceBatchSampler'
            assert cfg.train_dataloader.batch_size == 8
            assert sampler.get('fixed_size', False) == ('fixed-size' in v.name)
            assert v.name.endswith(f' cl{sampler.batch_cl}')
            assert sampler.get('fill', 'greedy') == (
                'random' if 'random-fill' in v.name else 'greedy'
            )
        else:
            assert sampler is None
            expected = int(v.name.split('batch ')[1]) if ' batch ' in v.name else 8
            assert cfg.train_dataloader.batch_size == expected
        loss = cfg.model.decode_head.loss_decode
        if 'per-image' in v.name:
            assert loss.per_image is True
    names = [v.name for v in study.variants]
    for label in ('CE', 'Soft Dice', 'Soft IoU'):
        assert f'{label} batch {bb.CONTROL_BATCH[11]}' in names
        assert f'{label} + BB fixed-size cl{bb.FIXED_CL}' in names
    assert {f'CE + BB cl{k}' for k in (6, 8, 11)} <= set(names)


FREEBIES = [
    fb_frcnn,
    fb_yolo,
    fb_mixup,
    import_module('tools.studies.freebies_pretrain_digits'),
    import_module('tools.studies.freebies_pretrain_frcnn_digits'),
    import_module('tools.studies.freebies_pretrain_yolo_digits'),
    import_module('tools.studies.freebies_yolo_pretrained_digits'),
    import_module('tools.studies.pilots.freebies_yolo_lr_pilot'),
    import_module('tools.studies.pilots.freebies_yolo_schedule_pilot'),
    import_module('tools.studies.pilots.freebies_yolo_small_pilot'),
]


def test_freebies_leaf_config_studies(tmp_path):
    """Every freebies study and pilot: every arm and every 2x run is a leaf config of the
    study folder, no options; the folder holds exactly those leaves; each resolved leaf
    trains with the studies' loaders (Table 3's and Table 2's schedules checked here, the
    others' in test_freebies_digits.py)."""
    from tools.studies.settings import freebies_digits as fb

    configs = set()
    for study in (m.STUDY for m in FREEBIES):
        arms = list(study.variants) + list(study.length_variants().values())
        for v in arms:
            assert v.config.startswith(fb.STUDY_CONFIGS + '/')
            if v.config in configs:
                continue
            configs.add(v.config)
            cfg = resolved(study, v, tmp_path)
            loaders = (cfg.train_dataloader, cfg.val_dataloader)
            assert all(d.num_workers == 0 and not d.persistent_workers for d in loaders)
            assert cfg.default_hooks.visualization.draw is False
            if study is fb_frcnn.STUDY:
                iters = 4000 if v.name.endswith('(2x schedule)') else 2000
                assert cfg.train_cfg.max_iters == iters and cfg.train_cfg.val_interval == iters // 4
                assert cfg.default_hooks.checkpoint.interval == iters
                sched = cfg.param_scheduler
                if v.name != 'baseline (step)' and not v.name.startswith('baseline (step) '):
                    assert sched[0].type == 'mmext.WarmupCosineLR' and sched[0].end == iters
                else:
                    assert sched[1].milestones == [iters * 7 // 10, iters * 9 // 10]
            elif study is fb_yolo.STUDY:
                assert cfg.train_cfg.max_epochs == 48 and cfg.train_cfg.val_interval == 6
                assert cfg.optim_wrapper.optimizer.lr == 0.003
                if 'mixup' in v.config:
                    assert cfg.custom_hooks[0].switch_epoch == 44
            else:  # every run saves one checkpoint, at its end
                loop = cfg.train_cfg
                assert cfg.default_hooks.checkpoint.interval == loop.get(
                    'max_epochs', loop.get('max_iters')
                )
    leaves = glob.glob(osp.join(REPO, fb.STUDY_CONFIGS, '*.py'))
    assert configs == {osp.relpath(p, REPO).replace(os.sep, '/') for p in leaves}


def test_tce_length_stage_is_ce_at_the_checked_schedule(tmp_path):
    # the check that moved the study to 16,000: CE alone at 8,000, its 2x at 16,000, whose
    # merged config is the study's CE at 16,000 (one run, one cache key)
    stage = tce.STAGES['length-8k']()
    assert [v.name for v in stage.variants] == ['CE'] and stage.claims == []
    cfg = resolved(stage, stage.variants[0], tmp_path)
    assert cfg.train_cfg.max_iters == 8000 and cfg.param_scheduler[1].end == 8000
    long = stage.length_variant('CE')
    assert long.config == tce.STUDY.variant('CE').config == tce.leaf('mcce')
    runner = harness.Runner(stage, str(tmp_path))
    assert runner.run_id(long, 1) == harness.Runner(tce.STUDY, str(tmp_path)).run_id(
        tce.STUDY.variant('CE'), 1
    )


def test_tce_variants(tmp_path):
    study = tce.STUDY
    # every arm (and 2x arm) is a leaf config of the study's folder, no options; every leaf
    # is an arm of the study or of its stage length-8k
    longs = [study.length_variant(b) for b in study.baselines]
    leaves = glob.glob(osp.join(REPO, tce.STUDY_CONFIGS, '*.py'))
    assert sorted(
        {v.config for v in study.variants + longs} | {tce.leaf('mcce', tce.CHECKED_ITERS)}
    ) == sorted(osp.relpath(p, REPO).replace(os.sep, '/') for p in leaves)
    tilts = {}
    for v in study.variants:
        cfg = resolved(study, v, tmp_path)
        assert cfg.train_cfg.max_iters == tce.ITERS == 16000
        assert cfg.param_scheduler[1].end == 16000 and cfg.train_cfg.val_interval == 4000
        assert cfg.model.data_preprocessor.size == (48, 48)
        assert cfg.train_dataloader.dataset.build_cfg.canvas_size == 48
        assert cfg.optim_wrapper.optimizer.lr == 2e-3
        assert cfg.model.backbone.base_channels == 16
        assert cfg.model.auxiliary_head is None  # the paper's DLv3+ has no auxiliary head
        assert cfg.val_evaluator.exclude_classes == ['background']
        assert cfg.val_evaluator.all_classes_prefix == 'all_'
        loss = cfg.model.decode_head.loss_decode
        if v.name.startswith('TCE'):
            tilts[v.name] = (loss.level, loss.tilt)
        if v.name.startswith('Stochastic'):
            assert cfg.train_dataloader.batch_sampler.exclude_classes == [0]
            hook = cfg.custom_hooks[0]
            per_class = 'per-class' in v.name
            assert hook.get('batch_loss', 'batch') == ('class' if per_class else 'batch')
            assert (loss.type == 'mmext.ClassTrackedCrossEntropyLoss') == per_class
            tilts[v.name] = hook.tilt
        if v.name == 'Focal':
            # the 48x48 train split's alpha, committed (the config's is the 64x64 data's)
            assert loss.type == 'mmext.SegFocalLoss' and loss.gamma == 2.0
            assert len(loss.alpha) == 11 and loss.alpha[0] == 0.001002
            assert loss.alpha != cfg.focal_alpha
            assert loss.alpha == [round(a, 6) for a in loss.alpha]
    assert tilts == {
        'TCE image t=1': ('image', 1.0),
        'TCE class t=0': ('class', 0.0),
        'TCE class t=1': ('class', 1.0),
        'Stochastic TCE t=0.1': 0.1,
        'Stochastic TCE t=1': 1.0,
        'Stochastic TCE per-class L_B t=0.1': 0.1,
        'Stochastic TCE per-class L_B t=1': 1.0,
    }
    # the paper's claims are on Algorithm 1; Eq. 2/3 used directly only as the extension
    for claim in study.claims:
        method = study.variant(claim.method)
        assert claim.name.startswith('extension') == (not method.name.startswith('Stochastic'))
    # the schedule-length check trains the baselines at 2x
    assert study.baselines == ['CE', 'TCE class t=0']
    for name in study.baselines:
        base, long = study.variant(name), study.length_variant(name)
        assert long.config == base.long_config
        cfg = resolved(study, long, tmp_path)
        assert cfg.train_cfg.max_iters == 2 * tce.ITERS == cfg.param_scheduler[1].end
        assert cfg.train_cfg.val_interval == tce.ITERS // 2
        assert cfg.default_hooks.checkpoint.interval == 2 * tce.ITERS
        # the same arm otherwise
        assert cfg.model.decode_head.loss_decode == (
            resolved(study, base, tmp_path).model.decode_head.loss_decode
        )


# one arm per loss (CE, Focal with the alpha file, class-level TCE, Stochastic TCE in both
# readings of L_B; class-level t=1 is compared with t=0, so both run); every arm's config
# is resolved in test_tce_variants
TCE_QUICK = [
    'CE',
    'Focal',
    'Stochastic TCE t=1',
    'Stochastic TCE per-class L_B t=1',
    'TCE class t=0',
    'TCE class t=1',
]


def test_tce_quick_end_to_end(tmp_path):
    work = tmp_path / 'runs'
    argv = ['--quick', '--jobs', '2', '--work-dir', str(work), '--out-dir', str(tmp_path)]
    md = tce.run(argv + ['--variants'] + TCE_QUICK)
    data = json.loads((tmp_path / 'tce_digits.json').read_text())
    # the study's order, then the baselines' 2x runs of the schedule-length check
    longs = ['CE (2x schedule)', 'TCE class t=0 (2x schedule)']
    assert data['quick'] and [r['variant'] for r in data['runs']] == TCE_QUICK + longs
    assert '## Schedule-length check' in md and '## Reference recipe' in md
    assert all(len(r['val']) == 4 for r in data['runs'])  # validated at 4 points
    assert (tmp_path / 'tce_digits.png').stat().st_size > 0
    assert '## Verdicts' in md and 'Table 3' in md
    # the weight-range section is there (4 quick iterations log no weights yet; the rows
    # come from hook scalars, checked in test_experiment_harness.py)
    weights = md.split('## Stochastic TCE class weights')[1].split('##')[0]
    assert '| variant | seed | min w over training |' in weights


def test_control_batch_sizes_are_the_rounded_balance_batch_means():
    sizes = bb.mean_batch_sizes()
    assert set(sizes) == set(bb.SWEEP_CL)
    for cl, mean in sizes.items():
        assert 1 <= mean <= bb.BATCH
        assert bb.CONTROL_BATCH[cl] == int(round(mean)), (cl, mean)
    # fixed-size mode: exactly batch_max images, i.e. the baseline's batch size
    assert bb.mean_batch_sizes((bb.FIXED_CL,), epochs=2, fixed=True) == {bb.FIXED_CL: bb.BATCH}


def test_icu_variants(tmp_path):
    """The ICU study's grid, one schedule and one initialisation for every arm, the arms'
    heads (reference arms included), the shot metric and the Gaussian parameters' own
    param group (lr 0.1, no weight decay)."""
    study = icu.STUDY
    assert study.seeds == (0, 1, 2) and study.primary == 'accuracy/top1'
    names = [v.name for v in study.variants]
    assert set(names) >= {f'{m} 2-D balanced' for m in icu.METHODS}
    for setting in ('2-D balanced', '100-D balanced'):
        assert {f'{m} {setting}' for m in icu.TABLE1_METHODS} <= set(names)
    assert {f'{m} 2-D LT100' for m in ('softmax', 'L-GM', 'ICU', 'ICU no reg')} <= set(names)
    for setting in ('2-D LT10', '100-D LT100'):
        assert {f'{m} {setting}' for m in ('softmax', 'L-GM', 'ICU')} <= set(names)
    assert len(names) == 27
    # every arm and every 2x arm is a leaf config, no options: the study folder's leaves and
    # the reference arms' test-side ones are exactly the study's
    longs = [study.length_variant(b) for b in study.baselines]
    leaves = [
        osp.relpath(p, REPO).replace(os.sep, '/')
        for folder in (icu.STUDY_CONFIGS, icu.REF_STUDY_CONFIGS)
        for p in glob.glob(osp.join(REPO, folder, '*.py'))
    ]
    assert sorted(v.config for v in study.variants + longs) == sorted(leaves)
    for v in study.variants:
        method = v.name.rsplit(' ', 2)[0]
        folder = icu.REF_STUDY_CONFIGS if 'reference' in method or 'authors' in method else None
        assert osp.dirname(v.config) == (folder or icu.STUDY_CONFIGS)
    # the Table 1 settings come first (the harness runs the study in its order)
    assert (
        names[:13]
        == [f'{m} 2-D balanced' for m in icu.GRID[(2, 1)]]
        + ['ICU params-only reg 2-D balanced']
        + [f'{m} 100-D balanced' for m in icu.GRID[(100, 1)]][:4]
    )
    for v in study.variants:
        cfg = resolved(study, v, tmp_path)
        assert cfg.train_cfg.max_iters == icu.ITERS
        assert cfg.train_cfg.val_interval * 4 == icu.ITERS
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.train_dataloader.batch_size == icu.BATCH
        assert cfg.model.backbone.init == 'pytorch' and cfg.model.backbone.get('init_cfg') is None
        keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
        for key in ('.means', '.log_vars', '.vars_inv'):
            assert keys[key].decay_mult == 0.0 and keys[key].lr_mult == icu.GAUSS_LR_MULT == 10
        dim = 100 if v.name.split()[-2] == '100-D' else 2
        assert cfg.model.backbone.out_channels == dim == cfg.model.head.in_channels
        ratio = 1.0 if v.group.endswith('balanced') else float(v.group.split('LT')[1])
        ds = cfg.train_dataloader.dataset
        assert ds.imbalance_ratio == ratio
        assert ds.data_root == cfg.val_dataloader.dataset.data_root == icu.data_root(ratio)
        assert cfg.test_dataloader.dataset.data_root == ds.data_root
        assert list(cfg.model.backbone.conv_channels) == list(icu.CONV_CHANNELS)
        assert cfg.param_scheduler.milestones == [int(0.6 * icu.ITERS), int(0.9 * icu.ITERS)]
        # the leaf's name is its setting's: feature dim and imbalance ratio
        assert f'lenetpp-{dim}d' in v.config and v.config.endswith(f'-lt{ratio:g}.py')
        metric = cfg.val_evaluator[2]
        assert metric.type == 'mmext.ClassAccuracyMetric'
        assert (metric.many_shot, metric.few_shot) == icu.SHOTS
        # floor(400 * ratio^(-k/9)), written out by hand for the three ratios
        assert (
            metric.class_counts
            == {
                1.0: [400] * 10,
                10.0: [400, 309, 239, 185, 143, 111, 86, 66, 51, 40],
                100.0: [400, 239, 143, 86, 51, 30, 18, 11, 6, 4],
            }[ratio]
        )
        head = cfg.model.head
        method = v.name.rsplit(' ', 2)[0]
        if method == 'softmax':
            # PyTorch's default init for the linear layer too (one init for every arm)
            assert head.type == 'LinearClsHead' and head.init_cfg is None
        elif method == 'L-GM':
            assert head.mode == 'lgm' and head.lambda_mu == head.lambda_sigma == 0.0
            assert (head.alpha, head.lambda_lkd) == (1.0, 0.1)  # the MNIST reference values
        elif method == 'L-GM reference':
            assert head.type == 'RefLGMClsHead'
            assert (head.alpha, head.lambda_lkd) == (1.0, 0.1)
            assert 'tests.models.lgm_reference' in cfg.custom_imports.imports
        elif method == 'ICU authors code':
            assert head.type == 'RefICUAuthorsClsHead' and head.alpha == 0.0
            assert 'tests.models.lgm_reference' in cfg.custom_imports.imports
        else:
            assert head.get('mode', 'icu') == 'icu'
            assert (head.alpha, head.gamma) == {
                'ICU no alpha': (0.0, 1e-3),
                'ICU no gamma': (1e-4, 0.0),
            }.get(method, (1e-4, 1e-3))
            assert (head.lambda_mu == 0.0) == (method == 'ICU no reg')
            assert head.get('reg_to_features', True) == (method != 'ICU params-only reg')
    # the schedule-length check: the softmax baselines at twice the schedule
    assert study.baselines == [n for n in names if n.startswith('softmax ')]
    for long in longs:
        base = study.variant(long.name.replace(' (2x schedule)', ''))
        assert long.config == base.long_config
        cfg = resolved(study, long, tmp_path)
        assert cfg.train_cfg.max_iters == 2 * icu.ITERS and cfg.train_cfg.val_interval * 4 == (
            2 * icu.ITERS
        )
        assert cfg.param_scheduler.milestones == [int(1.2 * icu.ITERS), int(1.8 * icu.ITERS)]
        assert cfg.default_hooks.checkpoint.interval == 2 * icu.ITERS
        # the same arm otherwise
        short = resolved(study, base, tmp_path)
        assert cfg.model == short.model and cfg.train_dataloader == short.train_dataloader
    # the REFERENCE block names the recipes and is rendered into the report's setup
    for text in ('kratos236/ICU-loss', 'YirongMao/softmax_variants', 'section 4.1', 'CPU'):
        assert text in icu.REFERENCE
    assert '\n'.join(icu.REFERENCE.rstrip().splitlines()) in '\n'.join(study.setup)


def test_icu_table1_stage():
    study = icu.stage_study('table1')
    assert [v.name for v in study.variants] == icu.TABLE1
    assert study.baselines == ['softmax 2-D balanced', 'softmax 100-D balanced']
    assert study.withhold is icu.withhold
    assert all(study.variant(b).long_config for b in study.baselines)
    assert study.setup[0].startswith('**Stage `table1` of this study**')
    assert {c.name for c in study.claims} == {
        f'Table 1 (MNIST {d}-D): {c}'
        for d in (2, 100)
        for c in ('ICU beats softmax', 'ICU beats L-GM', 'L-GM beats softmax')
    }


def test_icu_table1_2d_stage():
    study = icu.stage_study('table1-2d')
    assert [v.name for v in study.variants] == icu.TABLE1[:5]
    assert study.baselines == ['softmax 2-D balanced'] and len(study.claims) == 3


def _run(variant, seed, acc):
    return dict(variant=variant, seed=seed, final={'accuracy/top1': acc})


def test_icu_parity_gates_the_l_gm_claims():
    """Parity: the paired 95 % interval of mmext - reference within +-1 point; an L-GM
    claim at a dimension without parity is withheld; the ICU row does not gate."""
    study = icu.stage_study('table1')
    runs = []
    for seed, (lgm, ref2, ref100) in enumerate(
        [(90.0, 90.2, 80.0), (91.0, 90.9, 82.5), (92.0, 92.1, 81.0)]
    ):
        runs += [
            _run('L-GM 2-D balanced', seed, lgm),
            _run('L-GM reference 2-D balanced', seed, ref2),
            _run('L-GM 100-D balanced', seed, lgm),
            _run('L-GM reference 100-D balanced', seed, ref100),
            _run('ICU 2-D balanced', seed, lgm),
            _run('ICU authors code 2-D balanced', seed, 50.0 + seed),
        ]
    rows = {(r['arm'], r['setting']): r for r in icu.parity_rows(study, runs)}
    assert rows[('L-GM', '2-D balanced')]['verdict'] == 'parity'
    assert rows[('L-GM', '2-D balanced')]['paired']['diffs'] == pytest.approx([-0.2, 0.1, -0.1])
    assert rows[('L-GM', '100-D balanced')]['verdict'] == 'no parity'
    assert rows[('ICU', '2-D balanced')]['verdict'] == 'no parity'
    assert not rows[('ICU', '2-D balanced')]['gates']
    withheld = icu.withhold(study, runs)
    assert set(withheld) == {
        'Table 1 (MNIST 100-D): ICU beats L-GM',
        'Table 1 (MNIST 100-D): L-GM beats softmax',
    }
    assert 'no parity' in withheld['Table 1 (MNIST 100-D): ICU beats L-GM']
    md = '\n'.join(icu.parity_report(study, runs))
    assert md.startswith('# Reference parity') and 'Produced by `python ' in md
    assert '| L-GM 100-D balanced | L-GM reference 100-D balanced |' in md
    assert '**no parity** (cause: a real difference; known difference: likelihood term' in md


# every head (softmax, L-GM, its reference, ICU, the authors' classifier) at 2-D balanced
# (the feature figure, the parity report and the 2x baseline) and ICU at LT100 (the shot
# metrics); every arm's config is resolved in test_icu_variants
ICU_QUICK = [
    'L-GM 2-D balanced',
    'L-GM reference 2-D balanced',
    'ICU 2-D balanced',
    'ICU authors code 2-D balanced',
    'ICU 2-D LT100',
]


def test_icu_quick_end_to_end(tmp_path):
    work = tmp_path / 'runs'
    argv = ['--quick', '--jobs', '1', '--work-dir', str(work), '--out-dir', str(tmp_path)]
    md = icu.run(argv + ['--variants'] + ICU_QUICK)
    data = json.loads((tmp_path / 'icu_digits.json').read_text())
    # the arms asked for, the softmax baselines they are compared with and their 2x runs
    baselines = {'softmax 2-D balanced', 'softmax 2-D LT100'}
    assert {r['variant'] for r in data['runs']} == set(ICU_QUICK) | baselines | {
        b + ' (2x schedule)' for b in baselines
    }
    assert data['quick'] and len(data['runs']) == 9
    assert all(len(r['val']) == 4 for r in data['runs'])  # validated at 4 points
    lt100 = next(r for r in data['runs'] if r['variant'] == 'ICU 2-D LT100')
    assert {'class_acc/many', 'class_acc/medium', 'class_acc/few'} <= set(lt100['final'])
    assert (tmp_path / 'icu_digits.png').stat().st_size > 0
    assert (tmp_path / 'icu_digits_features.png').stat().st_size > 0
    assert '## Verdicts' in md and 'many / medium / few-shot' in md
    assert '## Schedule-length check' in md and 'Reference recipe' in md
    parity = (tmp_path / 'reference_parity.md').read_text()
    assert '| L-GM 2-D balanced | L-GM reference 2-D balanced |' in parity


# Table 3: every arm; Table 1: the reduced-data whole bag (weighted mixup, random shapes,
# cosine, label smoothing, `indices`) with its baseline (the Table 1 mixup arms differ from
# it by their leaves, checked in test_freebies_digits.py)
QUICK_ARMS = {'table3': None, 'table1-reduced': ['whole bag, 250 images']}


@pytest.mark.parametrize(
    'script, arms',
    [(fb_frcnn, QUICK_ARMS['table3']), (fb_mixup, QUICK_ARMS['table1-reduced'])],
    ids=list(QUICK_ARMS),
)
def test_freebies_quick_end_to_end(script, arms, tmp_path):
    # detection mAP through the harness: fractions reported in percent, a validation that
    # detects nothing counts as AP 0; the Table 2 configs' freebies are all in the
    # 'whole bag' variant of the mixup study (each Table 2 config is built in
    # test_freebies_digits.py)
    study = script.STUDY if arms is None else script.STUDY.subset(arms)
    argv = [
        '--quick',
        '--jobs',
        '2',
        '--work-dir',
        str(tmp_path / 'runs'),
        '--out-dir',
        str(tmp_path),
    ]
    md = script.run(argv + ([] if arms is None else ['--variants'] + arms))
    data = json.loads((tmp_path / f'{study.name}.json').read_text())
    got = [r['variant'] for r in data['runs']]
    arms_run = [v.name for v in study.variants]
    longs = sorted(v.name for v in study.length_variants().values())
    # the arms in the study's order, then the baselines' 2x runs of the length check
    assert data['quick'] and got[: len(arms_run)] == arms_run
    assert sorted(got[len(arms_run) :]) == longs
    if arms is not None:  # the arms asked for and their baselines, in the study's order
        assert got == ['baseline, 250 images', arms[0]]
    for r in data['runs']:
        steps = [v['step'] for v in r['val']]
        assert len(steps) == 4 and steps == sorted(set(steps))  # 4 distinct validations
        assert 0.0 <= r['final']['coco/bbox_mAP_50'] <= 1.0
    assert (tmp_path / f'{study.name}.png').stat().st_size > 0
    assert '## Verdicts' in md and '| mAP@0.5 | mAP@[.5:.95] | mAP@0.75 |' in md
