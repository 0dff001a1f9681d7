"""Weights-only ``torch.load`` of mmengine checkpoints works once mmext is imported."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import torch

WRITE = textwrap.dedent("""
    import sys, numpy as np, torch
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat-test')
    for i in range(3):
        hub.update_scalar('train/loss', float(i) + 0.5)
    hub.update_info('iter', np.int64(7))
    ckpt = dict(
        meta=dict(epoch=1, iter=np.int64(7), seed=np.int32(3), mean=np.float64(0.25),
                  dataset_meta=dict(classes=('a', 'b'), palette=[[0, 0, 0], [1, 1, 1]]),
                  arr=np.arange(4, dtype=np.float32)),
        state_dict=dict(w=torch.arange(6.).reshape(2, 3)),
        message_hub=hub.state_dict())
    torch.save(ckpt, sys.argv[1])
""")

READ = textwrap.dedent("""
    import sys
    if sys.argv[2] == 'mmext':
        import mmext  # noqa
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(sys.argv[1], map_location='cpu')
    hub = ckpt['message_hub']
    buf = hub['log_scalars']['train/loss']
    import json
    print(json.dumps([type(buf).__name__, float(buf.mean(3)), int(ckpt['meta']['iter']),
                      float(ckpt['meta']['mean']), ckpt['meta']['arr'].tolist(),
                      ckpt['state_dict']['w'].sum().item()]))
""")


def _run(code, *args):
    return subprocess.run(
        [sys.executable, '-c', code, *args], capture_output=True, text=True, timeout=300
    )


def test_mmengine_checkpoint_needs_and_gets_the_allow_list(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    out = _run(WRITE, path)
    assert out.returncode == 0, out.stderr
    # without mmext, torch >= 2.6 refuses mmengine's own checkpoint
    plain = _run(READ, path, 'plain')
    assert plain.returncode != 0
    assert 'weights_only' in plain.stderr or 'Unpickl' in plain.stderr
    # with mmext imported the same call loads it, still in weights-only mode
    fixed = _run(READ, path, 'mmext')
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    name, mean, it, m, arr, wsum = json.loads(fixed.stdout.strip().splitlines()[-1])
    assert name == 'HistoryBuffer'
    assert float(mean) == (0.5 + 1.5 + 2.5) / 3
    assert int(it) == 7 and float(m) == 0.25
    assert arr == [0.0, 1.0, 2.0, 3.0]
    assert float(wsum) == 15.0


def test_allow_list_keeps_weights_only_mode(tmp_path):
    """Arbitrary classes are still refused: the shim allow-lists, it does not disable."""
    from fractions import Fraction  # any class outside the allow-list

    import mmext  # noqa: F401

    path = tmp_path / 'other.pth'
    torch.save({'x': Fraction(1, 3)}, path)
    try:
        torch.load(path, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError
        assert 'Fraction' in str(exc)
    else:
        raise AssertionError('weights-only load accepted an arbitrary class')
    # numpy arrays are allowed
    torch.save({'a': np.ones(3)}, tmp_path / 'np.pth')
    assert torch.load(tmp_path / 'np.pth', weights_only=True)['a'].sum() == 3


def test_the_patch_is_applied_by_mmext_init_only(monkeypatch):
    """Importing mmext.utils (or compat) has no side effect; mmext/__init__.py applies it
    (issue 28)."""
    import importlib

    import mmext.utils.checkpoint as checkpoint
    import mmext.utils.compat as compat

    calls = []
    monkeypatch.setattr(checkpoint, 'install_local_checkpoint_loader', lambda: calls.append(1))
    importlib.reload(compat)
    importlib.reload(importlib.import_module('mmext.utils'))
    assert calls == []  # importing the modules patched nothing
    compat.apply_checkpoint_compat()
    assert calls == [1]
    import mmext

    assert 'apply_checkpoint_compat()' in open(mmext.__file__).read()
