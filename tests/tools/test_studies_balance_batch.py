"""The Balance-Batch study (tools/studies/balance_batch_digits.py): every arm's leaf config
resolves to the settings fixed in the file, and the control arms' batch sizes are the
balanced batches' means."""

import glob
import os
import os.path as osp
from importlib import import_module

from tests.tools.studies_helpers import REPO, resolved

bb = import_module('tools.studies.balance_batch_digits')


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


def test_control_batch_sizes_are_the_rounded_balance_batch_means():
    sizes = bb.mean_batch_sizes()
    assert set(sizes) == set(bb.SWEEP_CL)
    for cl, mean in sizes.items():
        assert 1 <= mean <= bb.BATCH
        assert bb.CONTROL_BATCH[cl] == int(round(mean)), (cl, mean)
    # fixed-size mode: exactly batch_max images, i.e. the baseline's batch size
    assert bb.mean_batch_sizes((bb.FIXED_CL,), epochs=2, fixed=True) == {bb.FIXED_CL: bb.BATCH}
