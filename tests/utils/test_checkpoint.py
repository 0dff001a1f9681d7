"""mmext.utils.checkpoint: damaged files give a clear error (path, no advice to load unsafely),
integrity checks, the resume finder's fallback, atomic writes."""

import os
import os.path as osp
import traceback
from fractions import Fraction

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import mmext  # noqa: F401  (installs the loader)
from mmext.utils.checkpoint import (
    InvalidCheckpointError,
    atomic_write_text,
    checkpoint_problem,
    find_resume_checkpoint,
    install_local_checkpoint_loader,
    list_checkpoints,
    load_local_checkpoint,
    temporary_name,
)

UNSAFE_ADVICE = ('weights_only', 'arbitrary code', 'trusted source', 'add_safe_globals')


def _mmengine_like(path, step=1):
    """A checkpoint with what mmengine stores (numpy scalars, a HistoryBuffer)."""
    hub = MessageHub.get_instance(f'ckpt-test-{step}')
    hub.update_scalar('train/loss', 0.5 * step)
    torch.save(
        dict(
            meta=dict(iter=np.int64(step), epoch=0),
            state_dict=dict(w=torch.full((64,), float(step))),
            message_hub=hub.state_dict(),
        ),
        path,
    )
    return str(path)


def _truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[: int(len(data) * keep)])


def _flip_byte(path):
    """Flip one byte inside the stored tensor data (zip headers stay intact)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    data = bytearray(open(path, 'rb').read())
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], 'little')
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], 'little')
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.file_size // 2] ^= 0xFF
    open(path, 'wb').write(bytes(data))


def _message_of(exc_info) -> str:
    """The whole traceback as a user sees it (chained exceptions included)."""
    return ''.join(traceback.format_exception(exc_info.value))


@pytest.fixture
def files(tmp_path):
    good = _mmengine_like(tmp_path / 'good.pth')
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint\n' * 20)
    truncated = _mmengine_like(tmp_path / 'truncated.pth')
    _truncate(truncated)
    flipped = _mmengine_like(tmp_path / 'flipped.pth')
    _flip_byte(flipped)
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    foreign = tmp_path / 'foreign.pth'
    torch.save({'x': Fraction(1, 3)}, foreign)
    return dict(
        good=good,
        garbage=str(garbage),
        text=str(text),
        truncated=truncated,
        flipped=flipped,
        empty=str(empty),
        foreign=str(foreign),
    )


def test_checkpoint_problem(files):
    assert checkpoint_problem(files['good']) is None
    assert checkpoint_problem(files['foreign']) is None  # complete, only refused on load
    assert checkpoint_problem(files['truncated']).startswith('truncated or damaged')
    assert 'CRC-32' in checkpoint_problem(files['flipped'])
    assert checkpoint_problem(files['empty']) == 'empty (0 bytes)'
    assert checkpoint_problem(files['garbage']).startswith('not a torch checkpoint')
    assert checkpoint_problem(files['text']).startswith('not a torch checkpoint')
    assert checkpoint_problem(files['good'] + '.nope') == 'missing'
    assert checkpoint_problem(osp.dirname(files['good'])) == 'not a regular file'


@pytest.mark.parametrize('kind', ['garbage', 'text', 'truncated', 'flipped', 'empty'])
def test_damaged_file_is_named_without_unsafe_advice(files, kind):
    """What --resume / load_from hit: mmengine's own loading path, with mmext imported."""
    path = files[kind]
    # the bad input: torch itself recommends turning weights-only loading off for garbage
    if kind == 'garbage':
        with pytest.raises(Exception) as raw:
            torch.load(path, weights_only=True)
        assert 'weights_only' in str(raw.value) and 'arbitrary code' in str(raw.value)
    with pytest.raises(InvalidCheckpointError) as err:
        _load_checkpoint(path, map_location='cpu')
    message = str(err.value)
    assert message.startswith(f'{path} is not a valid checkpoint: ')
    shown = _message_of(err)
    for advice in UNSAFE_ADVICE:
        assert advice not in shown, (advice, shown)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_refused_global_is_named(files):
    with pytest.raises(InvalidCheckpointError) as err:
        _load_checkpoint(files['foreign'], map_location='cpu')
    message = str(err.value)
    assert files['foreign'] in message and 'fractions.Fraction' in message
    assert 'It was not loaded' in message
    for advice in UNSAFE_ADVICE:
        assert advice not in _message_of(err)


def test_valid_and_missing_files_behave_as_before(files):
    ckpt = _load_checkpoint(files['good'], map_location='cpu')
    assert int(ckpt['meta']['iter']) == 1 and float(ckpt['state_dict']['w'][0]) == 1.0
    assert (
        load_local_checkpoint(files['good'])['message_hub']['log_scalars']['train/loss'].current()
        == 0.5
    )
    with pytest.raises(FileNotFoundError):
        _load_checkpoint(files['good'] + '.nope', map_location='cpu')
    with pytest.raises(InvalidCheckpointError, match='is not a valid checkpoint'):
        load_local_checkpoint(files['garbage'])


def test_loader_install_is_idempotent():
    loader = CheckpointLoader._get_checkpoint_loader('/some/local/file.pth')
    assert hasattr(loader, '_mmext_wrapped')
    assert install_local_checkpoint_loader() is False
    assert CheckpointLoader._get_checkpoint_loader('/some/local/file.pth') is loader
    # other schemes are untouched
    assert not hasattr(CheckpointLoader._get_checkpoint_loader('http://x/y.pth'), '_mmext_wrapped')


# ----------------------------------------------------------------------------- resuming
def _run_dir(tmp_path, steps, tmpl='iter_{}.pth'):
    for step in steps:
        _mmengine_like(tmp_path / tmpl.format(step), step)
    return str(tmp_path)


def _point_last(work_dir, target):
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(target)


def test_finder_uses_an_intact_last_checkpoint(tmp_path):
    work_dir = _run_dir(tmp_path, [8, 9, 10])
    _point_last(work_dir, osp.join(work_dir, 'iter_9.pth'))  # not the newest: still honoured
    warnings = []
    assert find_resume_checkpoint(work_dir, warn=warnings.append) == osp.join(
        work_dir, 'iter_9.pth'
    )
    assert warnings == []
    # numeric order, not lexicographic (iter_10 is newer than iter_9)
    assert [s for s, _ in list_checkpoints(work_dir, 'iter_{}.pth')] == [10, 9, 8]


@pytest.mark.parametrize('damage', ['missing', 'truncated', 'empty_last', 'no_last'])
def test_finder_falls_back_to_the_newest_intact(tmp_path, damage):
    work_dir = _run_dir(tmp_path, [8, 9, 10])
    named = osp.join(work_dir, 'iter_11.pth')
    if damage == 'missing':
        _point_last(work_dir, named)
    elif damage == 'truncated':
        _mmengine_like(named, 11)
        _truncate(named, 0.9)
        _point_last(work_dir, named)
    elif damage == 'empty_last':
        _point_last(work_dir, '')
    _truncate(osp.join(work_dir, 'iter_10.pth'))  # the newest by number is damaged too
    warnings = []
    chosen = find_resume_checkpoint(work_dir, warn=warnings.append)
    assert chosen == osp.join(work_dir, 'iter_9.pth')
    assert len(warnings) == 1
    warning = warnings[0]
    assert chosen in warning and 'iter_10.pth' in warning  # the skipped one is listed
    if damage in ('missing', 'truncated'):
        assert named in warning and ('missing' if damage == 'missing' else 'truncated') in warning
    elif damage == 'empty_last':
        assert 'last_checkpoint is empty' in warning
    else:
        assert 'there is no' in warning
    # the chosen file really loads
    assert int(load_local_checkpoint(chosen)['meta']['iter']) == 9


def test_finder_other_template_and_checkpoint_dir(tmp_path):
    ckpt_dir = tmp_path / 'out' / 'run'
    ckpt_dir.mkdir(parents=True)
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    _run_dir(ckpt_dir, [1, 2], tmpl='epoch_{}.pth')
    _mmengine_like(ckpt_dir / 'iter_99.pth')  # another template: not a candidate
    _point_last(str(work_dir), str(ckpt_dir / 'epoch_3.pth'))
    warnings = []
    chosen = find_resume_checkpoint(
        str(work_dir), str(ckpt_dir), 'epoch_{}.pth', warn=warnings.append
    )
    assert chosen == str(ckpt_dir / 'epoch_2.pth') and len(warnings) == 1


def test_finder_fresh_start_and_clear_error(tmp_path):
    assert find_resume_checkpoint(str(tmp_path), warn=pytest.fail) is None
    garbage = tmp_path / 'iter_4.pth'
    garbage.write_bytes(b'\x00' * 100)
    warnings = []
    assert find_resume_checkpoint(str(tmp_path), warn=warnings.append) is None
    assert 'starting from scratch' in warnings[0] and str(garbage) in warnings[0]
    _point_last(str(tmp_path), str(garbage))
    with pytest.raises(FileNotFoundError) as err:
        find_resume_checkpoint(str(tmp_path), warn=pytest.fail)
    message = str(err.value)
    assert str(garbage) in message and 'no intact checkpoint' in message
    assert 'Delete' in message
    for advice in UNSAFE_ADVICE:
        assert advice not in message


def test_atomic_write_text(tmp_path):
    path = str(tmp_path / 'last_checkpoint')
    atomic_write_text(path, 'a')
    atomic_write_text(path, 'bb')
    assert open(path).read() == 'bb'
    assert sorted(os.listdir(tmp_path)) == ['last_checkpoint']
    assert temporary_name(path) == str(tmp_path / '.last_checkpoint.partial')
    with pytest.raises(ValueError, match='exactly one'):
        list_checkpoints(str(tmp_path), 'iter.pth')


def test_legacy_format(tmp_path):
    """torch's pre-1.6 (non-zip) format: checked by a weights-only load."""
    good = str(tmp_path / 'legacy.pth')
    torch.save({'w': torch.ones(3)}, good, _use_new_zipfile_serialization=False)
    assert checkpoint_problem(good) is None
    assert float(_load_checkpoint(good, map_location='cpu')['w'].sum()) == 3.0
    foreign = str(tmp_path / 'legacy_foreign.pth')
    torch.save({'x': Fraction(1, 3)}, foreign, _use_new_zipfile_serialization=False)
    assert checkpoint_problem(foreign) is None  # complete; refused when loaded
    with pytest.raises(InvalidCheckpointError, match='fractions.Fraction'):
        _load_checkpoint(foreign, map_location='cpu')
    cut = str(tmp_path / 'legacy_cut.pth')
    data = open(good, 'rb').read()
    open(cut, 'wb').write(data[: len(data) // 2])
    assert checkpoint_problem(cut).startswith('not a torch checkpoint')
    with pytest.raises(InvalidCheckpointError) as err:
        _load_checkpoint(cut, map_location='cpu')
    assert str(err.value).startswith(f'{cut} is not a valid checkpoint')
    for advice in UNSAFE_ADVICE:
        assert advice not in _message_of(err)
