"""The bag-of-freebies studies and pilots (tools/studies/freebies_*.py, pilots/): every arm's
leaf config resolves with the studies' loaders and schedules, and ``--quick`` runs Table 3
and a Table 1 arm end to end (detection mAP through the harness, real tools/train.py runs) --
a check of the path, not the numbers."""

import glob
import json
import os
import os.path as osp
from importlib import import_module

import pytest

from tests.tools.studies_helpers import REPO, resolved

fb_mixup = import_module('tools.studies.freebies_mixup_digits')
fb_frcnn = import_module('tools.studies.freebies_frcnn_digits')
fb_yolo = import_module('tools.studies.freebies_yolo_digits')


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
