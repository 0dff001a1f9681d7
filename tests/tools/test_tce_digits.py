"""Tests of tools/experiments/tce_digits.py without training: its schedule overrides apply to
the digits configs and its report is assembled from per-run result JSONs."""
import json
import os.path as osp

import numpy as np
from mmengine.config import Config, DictAction
from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


script = load_script('tools/experiments/tce_digits.py')


def test_every_method_config_takes_the_short_schedule():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    opts = parser.parse_args(['--cfg-options', *script.schedule_options(120, 30)]).cfg_options
    for name in script.METHODS.values():
        cfg = Config.fromfile(osp.join(REPO, script.CONFIG_DIR, name))
        cfg.merge_from_dict(opts)
        assert cfg.train_cfg.max_iters == 120 and cfg.train_cfg.val_interval == 120
        warm, poly = cfg.param_scheduler
        assert (warm.type, warm.end) == ('LinearLR', 30)
        assert (poly.type, poly.begin, poly.end) == ('PolyLR', 30, 120)
        assert cfg.optim_wrapper.optimizer.lr == 5e-3 and poly.eta_min == 5e-5
        assert cfg.val_evaluator.type == 'mmext.FairIoUMetric' and cfg.val_evaluator.dump_json


def test_report_from_run_results(tmp_path, monkeypatch):
    classes = ['background'] + [str(k) for k in range(10)]
    calls = []

    def fake_run(method, seed, args):
        calls.append((method, seed, args.iters))
        rng = np.random.default_rng(seed + 10 * len(method))
        path = tmp_path / f'{script.SLUG[method]}_{seed}.json'
        path.write_text(json.dumps(dict(classes=classes,
                                        IoU=rng.uniform(0, 100, 11).round(2).tolist(),
                                        area_label=[100] * 11)))
        return str(path)

    monkeypatch.setattr(script, 'run_one', fake_run)
    md_path, png_path = tmp_path / 'docs' / 'r.md', tmp_path / 'docs' / 'r.png'
    md = script.main(['--seeds', '0', '1', '--iters', '40', '--out-md', str(md_path),
                      '--out-png', str(png_path)])
    assert sorted(calls) == sorted((m, s, 40) for m in script.METHODS for s in (0, 1))
    assert md_path.read_text() == md and png_path.stat().st_size > 0
    for method in script.METHODS:
        assert f'| {method} |' in md
    assert '--seeds 0 1 --iters 40' in md and '1100 labelled val pixels' in md
    assert '![per-class IoU](r.png)' in md
