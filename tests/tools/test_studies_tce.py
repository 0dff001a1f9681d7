"""The Tilted-CE study (tools/studies/tce_digits.py): every arm's leaf config resolves to the
settings fixed in the file, its length stage is the study's CE run, and ``--quick`` runs it
end to end (harness, real tools/train.py runs, report, plot) -- a check of the path, not the
numbers."""

import glob
import json
import os
import os.path as osp
from importlib import import_module

from tests.tools.studies_helpers import REPO, resolved
from tools.studies import harness

tce = import_module('tools.studies.tce_digits')


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
    # come from hook scalars, checked in test_harness_runner.py)
    weights = md.split('## Stochastic TCE class weights')[1].split('##')[0]
    assert '| variant | seed | min w over training |' in weights
