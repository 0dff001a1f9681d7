"""Tests of tools/analysis/visualize_coherent_mixup.py on a synthetic mixup dataset."""

import os.path as osp

import numpy as np
from mmdet.datasets import MultiImageMixDataset
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.dataset import BaseDataset
from mmengine.registry import init_default_scope

from tests.scripts import load_script


class _Toy(BaseDataset):
    METAINFO = dict(classes=('a', 'b', 'c'))

    def __init__(self):
        super().__init__(serialize_data=False, pipeline=[])

    def load_data_list(self):
        rng = np.random.RandomState(0)
        data = []
        for i in range(4):
            boxes = np.array([[2, 2, 10, 12], [12, 4, 20, 20]][: 1 + i % 2], np.float32)
            data.append(
                dict(
                    img=rng.randint(0, 255, (24, 24, 3)).astype(np.uint8),
                    img_shape=(24, 24),
                    gt_bboxes=HorizontalBoxes(boxes),
                    gt_bboxes_labels=np.arange(len(boxes)),
                    gt_ignore_flags=np.zeros(len(boxes), bool),
                )
            )
        return data


def test_draw_samples_writes_png_with_weights(tmp_path):
    script = load_script('tools/analysis/visualize_coherent_mixup.py')
    init_default_scope('mmdet')
    dataset = MultiImageMixDataset(
        _Toy(),
        pipeline=[dict(type='mmext.CoherentMixUp'), dict(type='mmext.PackDetInputsWithWeights')],
    )
    np.random.seed(0)
    out = str(tmp_path / 'mix.png')
    drawn = script.draw_samples(dataset, num=4, scale=2, out=out)
    assert osp.getsize(out) > 1000
    import matplotlib.image

    assert matplotlib.image.imread(out).ndim == 3
    assert len(drawn) == 4
    for info in drawn:
        lam = info['mixup_ratio']
        assert 0 < lam < 1
        n_first = 1 + info['index'] % 2  # objects of the first image come first
        np.testing.assert_allclose(info['weights'][:n_first], lam, atol=1e-4)
        np.testing.assert_allclose(info['weights'][n_first:], 1 - lam, atol=1e-4)


def test_parse_args_defaults():
    args = load_script('tools/analysis/visualize_coherent_mixup.py').parse_args(['some_config.py'])
    assert args.num == 6 and args.out.endswith('coherent_mixup_samples.png')
