"""FairCocoMetric: mmdet's CocoMetric keys unchanged, per-class AP and fairness keys by hand."""

import json
import math

import numpy as np
import pytest
import torch
from mmdet.evaluation.metrics import CocoMetric

from mmext.evaluation.metrics import FairCocoMetric
from mmext.registry import METRICS

CLASSES = ('a', 'b', 'c', 'd')


def write_coco(path):
    """Two 100x100 images; class a: one box per image, b: one box in image 1, c: one box in
    image 2, d: no ground truth at all (its AP is undefined)."""
    boxes = {  # (image id, category id): [x, y, w, h]
        (1, 1): [10, 10, 30, 30],
        (2, 1): [50, 50, 30, 30],
        (1, 2): [60, 10, 20, 40],
        (2, 3): [10, 60, 40, 20],
    }
    anns = [
        dict(id=i + 1, image_id=img, category_id=cat, bbox=box, area=box[2] * box[3], iscrowd=0)
        for i, ((img, cat), box) in enumerate(boxes.items())
    ]
    coco = dict(
        images=[dict(id=i, file_name=f'{i}.png', width=100, height=100) for i in (1, 2)],
        annotations=anns,
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)],
    )
    path.write_text(json.dumps(coco))
    return boxes


def predictions(boxes):
    """Class a: both boxes exact (AP 1); class b: its box shifted off entirely (AP 0); class c:
    exact (AP 1); class d: a false positive (no ground truth -> undefined AP)."""
    out = []
    for img in (1, 2):
        rows = []
        for (i, cat), (x, y, w, h) in boxes.items():
            if i != img:
                continue
            if cat == 2:
                x, y = x + 35, y + 45  # no overlap with the ground truth
            rows.append(([x, y, x + w, y + h], 0.9, cat - 1))
        rows.append(([0, 0, 5, 5], 0.5, 3))
        out.append(
            dict(
                img_id=img,
                ori_shape=(100, 100),
                pred_instances=dict(
                    bboxes=torch.tensor([r[0] for r in rows], dtype=torch.float32),
                    scores=torch.tensor([r[1] for r in rows]),
                    labels=torch.tensor([r[2] for r in rows]),
                ),
            )
        )
    return out


def evaluate(metric, samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_fairness_keys_by_hand_and_mmdet_keys_unchanged(tmp_path):
    ann = tmp_path / 'ann.json'
    samples = predictions(write_coco(ann))
    ours = evaluate(FairCocoMetric(ann_file=str(ann)), samples)
    theirs = evaluate(CocoMetric(ann_file=str(ann), classwise=True), predictions(write_coco(ann)))
    for key, val in theirs.items():  # every upstream key, same value
        assert (math.isnan(val) and math.isnan(ours[key])) or ours[key] == val, key
    # per-class AP@[.5:.95] by hand: a 1, b 0, c 1, d undefined (no ground truth)
    assert [ours[f'coco/bbox_AP.{n}'] for n in 'abc'] == [1.0, 0.0, 1.0]
    assert math.isnan(ours['coco/bbox_AP.d'])
    # over the 3 defined classes: worst 0, population std of (1, 0, 1), ceil(3/4) = 1 class
    assert ours['coco/bbox_worstAP'] == 0.0
    assert ours['coco/bbox_stdAP'] == pytest.approx(round(np.std([1.0, 0.0, 1.0]), 3))
    assert ours['coco/bbox_bottom25_mAP'] == 0.0
    assert ours['coco/bbox_top25_mAP'] == 1.0


def test_registry_and_errors(tmp_path):
    ann = tmp_path / 'ann.json'
    write_coco(ann)
    built = METRICS.build(dict(type='mmext.FairCocoMetric', ann_file=str(ann)))
    assert isinstance(built, FairCocoMetric) and built.classwise
    with pytest.raises(ValueError, match='classwise=True'):
        FairCocoMetric(ann_file=str(ann), classwise=False)
    with pytest.raises(ValueError, match='fraction'):
        FairCocoMetric(ann_file=str(ann), fraction=0.7)
