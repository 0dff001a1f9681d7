"""mmext.datasets.long_tail: the one long-tail count rule, against hand values."""

import numpy as np
import pytest

from mmext.datasets.long_tail import check_ratio, long_tail_counts, long_tail_profile


def test_counts_by_hand():
    # 5000 * 100 ** (-k / 9): 5000, 2997.7 -> 2997, ..., 5000 / 100 = 50 exactly (the 1e-9
    # keeps 49.99999999 from flooring to 49)
    counts = long_tail_counts(5000, 100)
    assert counts.dtype == np.int64
    assert counts[0] == 5000 and counts[1] == 2997 and counts[-1] == 50
    assert counts.sum() == 12406  # long-tailed CIFAR-10, ratio 100 (Cao et al. 2019)
    # K = 3, ratio 4: 400 * [1, 1/2, 1/4]
    assert long_tail_counts(400, 4, 3).tolist() == [400, 200, 100]
    # ratio 1: balanced; ratio above max_per_class: an empty tail is returned, not hidden
    assert long_tail_counts(7, 1).tolist() == [7] * 10
    assert long_tail_counts(5, 10, 2).tolist() == [5, 0]


def test_profile_and_ratio_check():
    np.testing.assert_allclose(long_tail_profile(100.0, 3), [1.0, 0.1, 0.01])
    for bad in (0.5, float('inf'), float('nan'), True, '10'):
        with pytest.raises(ValueError, match='imbalance_ratio'):
            check_ratio(bad)
    with pytest.raises(ValueError, match='imbalance_ratio'):
        long_tail_counts(10, 0.9)


def test_the_three_users_share_it():
    """The digits builders, LongTailSubset and the ICU MNIST experiment call the helper."""
    import inspect

    from mmext.datasets import long_tail_subset
    from mmext.datasets.digits import builders as digits_builders

    for module in (digits_builders, long_tail_subset):
        source = inspect.getsource(module)
        assert 'long_tail_counts(' in source and '1e-9' not in source, module.__name__
