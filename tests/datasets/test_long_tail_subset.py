"""LongTailSubset: the long-tailed CIFAR class counts (published totals), seeded and sorted
choice, wrapping a real mmpretrain dataset, errors."""

import numpy as np
import pytest

from mmext.datasets import LongTailSubset


class _Labels:
    """Minimal classification dataset: item ``i`` is ``(i, label_i)``."""

    def __init__(self, labels, classes=None):
        self.labels = np.asarray(labels)
        self.metainfo = dict(classes=classes or tuple(str(k) for k in range(self.labels.max() + 1)))
        self.initialised = False

    def full_init(self):
        self.initialised = True

    def get_gt_labels(self):
        return self.labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return idx, int(self.labels[idx])

    def get_data_info(self, idx):
        return dict(gt_label=int(self.labels[idx]))

    def get_cat_ids(self, idx):
        return [int(self.labels[idx])]


@pytest.mark.parametrize(
    'num_classes,per_class,ratio,total',
    [
        # totals of the long-tailed CIFAR benchmarks (Cao et al. 2019, Table 1 setting)
        (10, 5000, 100, 12406),
        (10, 5000, 50, 13996),
        (10, 5000, 10, 20431),
        (100, 500, 100, 10847),
        (100, 500, 50, 12608),
        (100, 500, 10, 19573),
    ],
)
def test_cifar_lt_totals(num_classes, per_class, ratio, total):
    labels = np.repeat(np.arange(num_classes), per_class)
    np.random.default_rng(0).shuffle(labels)
    subset = LongTailSubset(_Labels(labels), imbalance_ratio=ratio)
    assert len(subset) == total
    counts = np.bincount(subset.get_gt_labels(), minlength=num_classes)
    assert counts.tolist() == subset.class_counts
    assert counts[0] == per_class and counts[-1] == per_class // ratio
    assert np.all(np.diff(counts) <= 0)


def test_cifar10_lt100_counts_by_hand():
    labels = np.repeat(np.arange(10), 5000)
    subset = LongTailSubset(_Labels(labels), imbalance_ratio=100)
    # floor(5000 * 100^(-k/9))
    assert subset.class_counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_seeded_sorted_choice_and_access():
    labels = np.repeat(np.arange(4), 30)
    data = _Labels(labels)
    a = LongTailSubset(data, imbalance_ratio=10, seed=1)
    b = LongTailSubset(data, imbalance_ratio=10, seed=1)
    c = LongTailSubset(data, imbalance_ratio=10, seed=2)
    assert a.indices == b.indices and a.indices != c.indices
    assert a.indices == sorted(a.indices) and data.initialised
    for i, src in enumerate(a.indices):
        assert a[i] == (src, labels[src])
        assert a.get_cat_ids(i) == [labels[src]]
        assert a.get_data_info(i)['gt_label'] == labels[src]
    assert a.metainfo == data.metainfo
    lazy = LongTailSubset(data, imbalance_ratio=10, seed=1, lazy_init=True)
    assert lazy.indices == [] and len(lazy) == len(a) and lazy.indices == a.indices
    capped = LongTailSubset(data, imbalance_ratio=2, max_per_class=10)
    assert capped.class_counts == [10, 7, 6, 5]


def test_wraps_mmpretrain_dataset(tmp_path):
    from mmengine.registry import init_default_scope

    init_default_scope('mmpretrain')
    subset = LongTailSubset(
        dict(
            type='mmext.DigitsClsDataset',
            data_root=str(tmp_path),
            split='val',
            imbalance_ratio=1.0,
            max_per_class=12,
            pipeline=[],
        ),
        imbalance_ratio=4,
    )
    # floor(12 * 4^(-k/9)) for the 10 digits
    expected = [int(np.floor(12 * 4 ** (-k / 9) + 1e-9)) for k in range(10)]
    assert subset.class_counts == expected
    assert np.bincount(subset.get_gt_labels()).tolist() == expected
    assert subset[0]['gt_label'] == 0


def test_errors():
    data = _Labels(np.repeat(np.arange(3), 5))
    with pytest.raises(ValueError):
        LongTailSubset(data, imbalance_ratio=0.5)
    with pytest.raises(ValueError, match='needs 6 samples'):
        LongTailSubset(data, imbalance_ratio=2, max_per_class=6)
    with pytest.raises(ValueError, match='leaves class 2 empty'):
        LongTailSubset(data, imbalance_ratio=10)
    with pytest.raises(ValueError, match='max_per_class must be >= 1'):
        LongTailSubset(data, imbalance_ratio=2, max_per_class=0)
