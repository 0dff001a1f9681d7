"""Tests of the on-disk materialisation of the digits datasets (mmext.datasets.digits.store)."""

import json
import multiprocessing as mp
import os
import os.path as osp
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from mmext.datasets.digits import store
from mmext.datasets.digits.builders import build_digits_seg


def _write_one(marker: str):
    def write(tmp):
        os.makedirs(osp.join(tmp, 'out'))
        with open(osp.join(tmp, 'out', 'file.txt'), 'w') as f:
            f.write(marker)
        return dict(marker=marker)

    return write


def test_materialize_caches_and_rebuilds(tmp_path):
    root = str(tmp_path / 'root')
    meta = store.materialize(root, 'train', 'test', dict(a=1), ['out'], _write_one('first'))
    assert meta['marker'] == 'first' and meta['params'] == dict(a=1)
    on_disk = json.load(open(osp.join(root, 'digits_meta_train.json')))
    assert on_disk == meta
    # same parameters: nothing is rewritten
    meta2 = store.materialize(root, 'train', 'test', dict(a=1), ['out'], _write_one('second'))
    assert meta2['marker'] == 'first'
    assert open(osp.join(root, 'out', 'file.txt')).read() == 'first'
    # other parameters: rebuilt, the stale target replaced
    meta3 = store.materialize(root, 'train', 'test', dict(a=2), ['out'], _write_one('third'))
    assert meta3['marker'] == 'third'
    assert open(osp.join(root, 'out', 'file.txt')).read() == 'third'
    # force rebuilds with the same parameters
    store.materialize(root, 'train', 'test', dict(a=2), ['out'], _write_one('fourth'), force=True)
    assert open(osp.join(root, 'out', 'file.txt')).read() == 'fourth'
    # no temporary directory or file is left behind
    assert not [n for n in os.listdir(root) if n.startswith(('.tmp', '.meta'))]


def test_materialize_failed_write_leaves_no_meta(tmp_path):
    root = str(tmp_path / 'root')

    def broken(tmp):
        os.makedirs(osp.join(tmp, 'out'))
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        store.materialize(root, 'val', 'test', dict(a=1), ['out'], broken)
    assert store.read_meta(root, 'val') == {}
    assert sorted(os.listdir(root)) == ['.digits_val.lock']


def _race(args):
    root, marker = args
    meta = store.materialize(root, 'train', 'test', dict(a=1), ['out'], _write_one(marker))
    return meta['marker']


def test_materialize_concurrent_ranks(tmp_path):
    """Four processes build the same split at once: one build wins, all agree."""
    root = str(tmp_path / 'root')
    ctx = mp.get_context('fork')
    with ctx.Pool(4) as pool:
        markers = pool.map(_race, [(root, f'rank{i}') for i in range(4)])
    assert len(set(markers)) == 1
    assert open(osp.join(root, 'out', 'file.txt')).read() == markers[0]
    assert store.read_meta(root, 'train')['marker'] == markers[0]
    assert not [n for n in os.listdir(root) if n.startswith(('.tmp', '.meta'))]


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('umask', [0o022, 0o002, 0o027])
def test_meta_has_the_permissions_of_the_pngs(tmp_path, umask):
    """The meta json used to be created 0o600 (mkstemp) while the PNGs follow the umask."""
    old = os.umask(umask)
    try:
        root = str(tmp_path / 'seg')
        build_digits_seg(root, 'val', num_images=4, imbalance_ratio=1.0, digits_per_image=(3, 3))
        store.materialize(
            str(tmp_path / 'toy'), 'train', 'test', dict(a=1), ['out'], _write_one('x')
        )
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    png = osp.join(root, 'ann_dir', 'val', '00000.png')
    assert _mode(png) == expected
    assert _mode(store.meta_path(root, 'val')) == expected
    assert _mode(store.meta_path(str(tmp_path / 'toy'), 'train')) == expected
    assert _mode(osp.join(tmp_path, 'toy', 'out', 'file.txt')) == expected
    assert np.array(Image.open(png)).shape == (64, 64)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def _temporary(root, name, age=0.0, folder=True):
    path = osp.join(root, name)
    if folder:
        os.makedirs(path)
        inner = osp.join(path, 'img.png')
    else:
        inner = path
    with open(inner, 'w') as f:
        f.write('partial')
    if age:
        then = time.time() - age
        for p in {inner, path}:
            os.utime(p, (then, then))
    return path


def test_next_build_removes_only_stale_temporaries(tmp_path):
    root = str(tmp_path / 'root')
    os.makedirs(root)
    host, dead = store._host(), _dead_pid()
    sleeper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        stale = [
            _temporary(root, f'.tmp_train_{dead}@{host}_k2x9'),  # killed builder
            _temporary(root, f'.meta_{dead}@{host}_0a1b.json', folder=False),
            _temporary(root, '.tmp_val_q7w1', age=2 * store.STALE_TEMP_SECONDS),  # old name
            _temporary(root, '.meta_abc.json', age=2 * store.STALE_TEMP_SECONDS, folder=False),
        ]
        kept = [
            _temporary(root, f'.tmp_val_{sleeper.pid}@{host}_z1'),  # a running builder
            _temporary(root, f'.tmp_train_{dead}@other-host_z2'),  # another machine's
            _temporary(root, '.tmp_val_fresh'),  # no owner recorded, recently touched
            _temporary(root, 'digits_keep.txt', age=2 * store.STALE_TEMP_SECONDS, folder=False),
        ]
        meta = store.materialize(root, 'train', 'test', dict(a=1), ['out'], _write_one('built'))
        assert meta['marker'] == 'built'
        assert not any(osp.lexists(p) for p in stale)
        assert all(osp.exists(p) for p in kept)
        # the build's own temporaries are gone too
        names = set(os.listdir(root))
        assert names == {osp.basename(p) for p in kept} | {
            '.digits_train.lock',
            'digits_meta_train.json',
            'out',
        }
    finally:
        sleeper.kill()
        sleeper.wait()


def _slow_build(args):
    root, split, delay = args

    def write(tmp):
        os.makedirs(osp.join(tmp, 'out_' + split))
        time.sleep(delay)  # the other builder runs its cleanup meanwhile
        with open(osp.join(tmp, 'out_' + split, 'file.txt'), 'w') as f:
            f.write(split)
        return dict(marker=split)

    return store.materialize(root, split, 'test', dict(a=1), ['out_' + split], write)['marker']


def test_concurrent_builders_keep_each_others_temporaries(tmp_path):
    """train builds slowly while val builds (and cleans up): both builds succeed."""
    root = str(tmp_path / 'root')
    os.makedirs(root)
    ctx = mp.get_context('fork')
    with ctx.Pool(2) as pool:
        slow = pool.apply_async(_slow_build, ((root, 'train', 2.0),))
        deadline = time.time() + 10
        while not any(n.startswith('.tmp_train_') for n in os.listdir(root)):
            assert time.time() < deadline, 'the train build never started'
            time.sleep(0.02)
        assert _slow_build((root, 'val', 0.0)) == 'val'
        assert slow.get(timeout=30) == 'train'
    assert open(osp.join(root, 'out_train', 'file.txt')).read() == 'train'
    assert not [n for n in os.listdir(root) if n.startswith(('.tmp', '.meta'))]
