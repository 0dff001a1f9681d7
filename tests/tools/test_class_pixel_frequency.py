"""Tests of tools/analysis/class_pixel_frequency.py on a small digits dataset."""

import glob
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from tests.damaged_files import truncate
from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


tool = load_script('tools/analysis/class_pixel_frequency.py')


def raw_counts(root):
    """Independent count: bincount of the label PNGs as stored."""
    total = np.zeros(256, np.int64)
    for p in glob.glob(osp.join(root, 'ann_dir', 'train', '*.png')):
        total += np.bincount(np.array(Image.open(p)).ravel(), minlength=256)
    return total


def test_counts_alpha_and_cli(tmp_path, capsys):
    root = str(tmp_path / 'digits')
    cfg_path = tmp_path / 'cfg.py'
    cfg_path.write_text(
        f"_base_ = ['{osp.join(REPO, 'configs', '_base_', 'datasets', 'digits_seg.py')}']\n"
        "custom_imports = dict(imports=['mmext'], allow_failed_imports=False)\n"
        f"train_dataloader = dict(dataset=dict(data_root='{root}', num_images=8))\n"
    )
    out = tmp_path / 'freq.json'
    result = tool.main([str(cfg_path), '--out', str(out), '--num-workers', '2'])
    raw = raw_counts(root)
    assert result['pixel_count'] == raw[:11].tolist()
    assert json.loads(out.read_text()) == result
    freq = raw[:11] / raw[:11].sum()
    np.testing.assert_allclose(result['frequency'], freq)
    inv = np.where(freq > 0, 1 / np.maximum(freq, 1e-300), 0)
    np.testing.assert_allclose(result['focal_alpha'], inv / inv.sum())
    assert 'focal_alpha = [' in capsys.readouterr().out

    # reduce_zero_label: label v becomes v - 1 and 0 becomes ignore, as in LoadAnnotations
    from mmseg.datasets import BaseSegDataset

    ds = BaseSegDataset(
        data_root=root,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=True,
        metainfo=dict(classes=tuple(str(k) for k in range(10))),
    )
    counts = tool.class_pixel_counts(ds, num_workers=1, progress=False)
    assert counts.tolist() == raw[1:11].tolist()


def test_focal_alpha_edge_cases():
    np.testing.assert_allclose(tool.focal_alpha([1, 3]), [0.75, 0.25])
    with pytest.warns(UserWarning, match='have no pixel'):
        np.testing.assert_allclose(tool.focal_alpha([2, 0, 2]), [0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match='no labelled pixel'):
        tool.focal_alpha([0, 0])


def test_truncated_label_map_is_named(tmp_path):
    """mmseg's LoadAnnotations raises Pillow's 'image file is truncated' without a path."""
    from mmseg.datasets import BaseSegDataset

    rng = np.random.default_rng(0)
    for sub in ('img', 'ann'):
        (tmp_path / sub).mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 3, (32, 32)).astype(np.uint8)).save(
            tmp_path / 'ann' / f'{i}.png'
        )
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / 'img' / f'{i}.png')
    damaged = truncate(str(tmp_path / 'ann' / '4.png'))
    ds = BaseSegDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=dict(classes=('a', 'b', 'c')),
    )
    with pytest.raises(OSError) as info:
        tool.class_pixel_counts(ds, num_workers=2, progress=False)
    assert str(info.value).startswith(
        f'label map {damaged} cannot be decoded (OSError: image file is truncated'
    )
