"""Tests of the canvas composition shared by the digits segmentation/detection builders."""

import numpy as np
import pytest

from mmext.datasets.digits.canvas import CanvasParams, compose_canvases


def test_grid_by_hand():
    def grid(canvas_size, digits_per_image, digit_size):
        params = CanvasParams(
            num_images=1,
            imbalance_ratio=1.0,
            seed=0,
            canvas_size=canvas_size,
            digits_per_image=digits_per_image,
            digit_size=digit_size,
            ink_threshold=100,
            noise_std=0.0,
        )
        return params.check('train')

    # 4 digits -> 2x2 grid; 64 // 2 = 32
    assert grid(64, (2, 4), (20, 32)) == (2, 32)
    # 5 digits -> 3x3 grid; 64 // 3 = 21
    assert grid(64, (1, 5), (20, 32)) == (3, 21)
    with pytest.raises(ValueError, match='use canvas_size >= 66'):
        grid(64, (1, 5), (22, 32))


def test_canvases_instances_and_labels():
    canvases, counts = compose_canvases(
        'val',
        CanvasParams(
            num_images=50,
            imbalance_ratio=4.0,
            seed=1,
            canvas_size=80,
            digits_per_image=(1, 4),
            digit_size=(10, 40),
            ink_threshold=100,
            noise_std=0.0,
        ),
        task='unit',
    )
    cell = 40  # 2x2 grid on 80 px
    seen = np.zeros(10, dtype=np.int64)
    for img, label_map, instances in canvases:
        assert img.shape == (80, 80, 3) and img.dtype == np.uint8
        assert label_map.shape == (80, 80) and label_map.dtype == np.uint8
        assert 1 <= len(instances) <= 4
        covered = np.zeros((80, 80), dtype=bool)
        cells = set()
        for digit, x0, y0, x1, y1 in instances:
            seen[digit] += 1
            # each digit stays inside its own grid cell: no two digits overlap
            cell_id = (y0 // cell, x0 // cell)
            assert (y1 // cell, x1 // cell) == cell_id and cell_id not in cells
            cells.add(cell_id)
            assert max(x1 - x0, y1 - y0) + 1 <= 40
            box = label_map[y0 : y1 + 1, x0 : x1 + 1]
            # the box is tight around the digit's labelled pixels
            assert set(np.unique(box)) <= {0, 1 + digit}
            assert (box[0] > 0).any() and (box[-1] > 0).any()
            assert (box[:, 0] > 0).any() and (box[:, -1] > 0).any()
            covered[y0 : y1 + 1, x0 : x1 + 1] = True
        assert not label_map[~covered].any()
        # without noise, the background is one flat colour outside the digits' cells
        corner = img[~covered]
        assert (np.abs(corner.astype(int) - corner[0]).max(-1) == 0).mean() > 0.8
    np.testing.assert_array_equal(seen, counts)
    assert counts.sum() == sum(len(c[2]) for c in canvases)
