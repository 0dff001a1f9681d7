"""Tests of ClassIndex, the per-image class index in CSR form."""

import pytest

from mmext.datasets.samplers.class_index_csr import ClassIndex


def test_class_index_api():
    index = ClassIndex.from_lists([[3, 1, 1], [], [0, 2], [5]], num_classes=6)
    assert len(index) == 4 and index.num_classes == 6
    assert [r.tolist() for r in index.image_classes] == [[1, 3], [], [0, 2], [5]]
    assert index.images_of_class(1).tolist() == [0]
    assert index.images_of_class(4).tolist() == []
    assert index.classes_present().tolist() == [0, 1, 2, 3, 5]
    assert index.class_counts().tolist() == [1, 1, 1, 1, 0, 1]
    filtered = index.without([1, 5])
    assert [r.tolist() for r in filtered.image_classes] == [[3], [], [0, 2], []]
    with pytest.raises(ValueError, match='class ids'):
        ClassIndex.from_lists([[7]], num_classes=3)
