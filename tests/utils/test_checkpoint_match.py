"""A checkpoint of another model is refused before testing / fine-tuning / resuming (issue 26,
items 2 and 6): the share is counted by hand on small models."""

import pytest
import torch
import torch.nn as nn

import mmext  # noqa: F401  (checkpoint loader)
from mmext.utils.checkpoint_match import (
    MIN_SHARE_FINETUNE,
    MIN_SHARE_SAME_MODEL,
    CheckpointMismatchError,
    NotATrainingCheckpointError,
    check_checkpoint_for_model,
    match_state_dict,
)


def _seg_like() -> nn.Module:
    # 10 state-dict entries: conv w/b, bn w/b/mean/var/count, head conv w/b, aux w
    return nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.Conv2d(4, 5, 1),
        nn.Conv2d(4, 2, 1, bias=False),
    )


def _cls_like() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))


def test_match_counts_by_hand():
    model = _seg_like()
    state = model.state_dict()
    assert len(state) == 10
    partial = dict(state)
    del partial['2.bias']  # missing
    partial['2.weight'] = torch.zeros(7, 4, 1, 1)  # other shape
    partial['extra.weight'] = torch.zeros(1)  # unexpected
    match = match_state_dict(model, {f'module.{k}': v for k, v in partial.items()})
    assert (match.matched, match.total) == (8, 10) and match.share == pytest.approx(0.8)
    assert match.missing == ['2.bias'] and match.shape_mismatch == ['2.weight']
    assert match.unexpected == ['extra.weight']


def _save(path, model, **extra):
    torch.save(dict(state_dict=model.state_dict(), **extra), path)
    return str(path)


def test_another_models_checkpoint_is_refused_for_test(tmp_path):
    path = _save(tmp_path / 'cls.pth', _cls_like(), meta=dict(epoch=1))
    with pytest.raises(CheckpointMismatchError) as err:
        check_checkpoint_for_model(_seg_like(), path, 'test')
    message = str(err.value)
    assert message.startswith('test: checkpoint is for another model: ')
    assert 'matches 0 of the 10 weights' in message and '90 % needed' in message
    assert (
        'Missing: 1.weight, 1.bias, 1.running_mean, 1.running_var, 1.num_batches_tracked '
        '... (+1)' in message
    )
    assert 'Unexpected: none' in message  # every key of the Linear layers exists in both
    assert 'Other shape: 0.weight, 0.bias, 2.weight, 2.bias.' in message
    assert '--allow-partial' in message


def test_same_model_passes_and_finetune_threshold_is_lower(tmp_path):
    model = _seg_like()
    assert check_checkpoint_for_model(model, _save(tmp_path / 'a.pth', model), 'test').share == 1
    # a related model with other heads: 7 of 10 match (70 %): fine-tuning yes, testing no
    other = _seg_like()
    other[2] = nn.Conv2d(4, 9, 1)
    other[3] = nn.Conv2d(4, 9, 1, bias=False)
    path = _save(tmp_path / 'b.pth', other)
    assert MIN_SHARE_FINETUNE <= 0.7 < MIN_SHARE_SAME_MODEL
    assert check_checkpoint_for_model(model, path, 'load_from').matched == 7
    with pytest.raises(CheckpointMismatchError, match='matches 7 of the 10'):
        check_checkpoint_for_model(model, path, 'test')


def test_resume_needs_a_training_checkpoint(tmp_path):
    model = _seg_like()
    bare = tmp_path / 'bare.pth'
    torch.save(model.state_dict(), bare)
    with pytest.raises(NotATrainingCheckpointError, match='not a training checkpoint.*load_from'):
        check_checkpoint_for_model(model, str(bare), 'resume')
    # weights-only files of the model are fine for testing
    assert check_checkpoint_for_model(model, str(bare), 'test').share == 1
    other = _save(tmp_path / 'other.pth', _cls_like(), meta={}, optimizer={})
    with pytest.raises(CheckpointMismatchError, match='resume: checkpoint is for another model'):
        check_checkpoint_for_model(model, other, 'resume')
    assert check_checkpoint_for_model(model, other, 'resume', min_share=0.0).matched == 0


def test_a_file_without_weights(tmp_path):
    path = tmp_path / 'meta.pth'
    torch.save(dict(meta=dict(a=1)), path)
    with pytest.raises(CheckpointMismatchError, match='holds no model weights'):
        check_checkpoint_for_model(_seg_like(), str(path), 'test')
