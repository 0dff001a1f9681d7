"""Tests of tools/experiments/icu_mnist.py: data splits, one short run, report and plot."""
import os.path as osp
from types import SimpleNamespace

import numpy as np

from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


tool = load_script('tools/experiments/icu_mnist.py')


def test_splits():
    x_tr, y_tr, x_te, y_te = tool.load_split(100., seed=0)
    counts = np.bincount(y_tr.numpy(), minlength=10)
    assert counts.tolist() == [int(np.floor(400 * 100**(-k / 9) + 1e-9)) for k in range(10)]
    assert np.bincount(y_te.numpy()).tolist() == [100] * 10
    assert x_tr.shape[1:] == x_te.shape[1:] == (1, 14, 14)
    balanced = tool.load_split(1., seed=0)[1]
    assert len(balanced) == 4000


def test_short_run_report_and_plot(tmp_path):
    results = []
    for method in tool.METHODS:
        result = tool.run_one(('balanced', 100., method, 0, 1, 1))
        assert result['finite'] and 0 <= result['acc'] <= 100 and result['epochs'] == 1
        results.append(result)
    assert 'means' in results[2]
    assert results[2]['train_feats'].shape == (results[2]['num_train'], 2)
    args = SimpleNamespace(epochs=1, min_iters=1, seeds=[0], workers=1)
    for setting, _ in tool.SETTINGS:  # reuse the three runs for every table row
        results += [dict(r, setting=setting) for r in results[:3]]
    tool.write_table(results[3:], args, 60., str(tmp_path / 'icu_mnist.md'))
    table = (tmp_path / 'icu_mnist.md').read_text()
    assert table.count('| long-tailed, ratio 10 |') == 1 + len(tool.METHODS)
    tool.plot_features(results[:3], str(tmp_path / 'features.png'))
    assert (tmp_path / 'features.png').stat().st_size > 10000
