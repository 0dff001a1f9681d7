"""mmext's registry nodes resolve ``type='mmext.X'`` from every host's scope."""

import subprocess
import sys
import textwrap

import pytest
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from mmext import registry as mmext_registry

HOSTS = ('mmdet', 'mmseg', 'mmpretrain')
NODES = (
    'MODELS',
    'DATA_SAMPLERS',
    'TRANSFORMS',
    'DATASETS',
    'HOOKS',
    'PARAM_SCHEDULERS',
    'OPTIM_WRAPPERS',
    'METRICS',
)


def _host_registry(host: str, node: str):
    module = __import__(f'{host}.registry', fromlist=[node])
    return getattr(module, node)


def test_nodes_are_children_of_mmengine_roots():
    import mmengine.registry as root

    for node in NODES:
        reg = getattr(mmext_registry, node)
        assert reg.scope == 'mmext'
        assert reg.parent is getattr(root, node)
        assert getattr(root, node)._children['mmext'] is reg


@pytest.mark.parametrize('host', HOSTS)
def test_every_mmext_module_resolves_from_host_scope(host):
    init_default_scope(host)
    for node in NODES:
        mmext_reg = getattr(mmext_registry, node)
        host_reg = _host_registry(host, node)
        # every registry node of mmext holds at least one module
        assert len(mmext_reg.module_dict) > 0, node
        for name, cls in mmext_reg.module_dict.items():
            assert host_reg.get(f'mmext.{name}') is cls, (host, node, name)


@pytest.mark.parametrize('host', HOSTS)
def test_build_mmext_module_from_host_registry(host):
    import torch
    from mmengine.optim import OptimWrapper

    init_default_scope(host)
    host_reg = _host_registry(host, 'OPTIM_WRAPPERS')
    model = torch.nn.Linear(2, 2)
    wrapper = host_reg.build(
        dict(
            type='mmext.CPUAutocastOptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        )
    )
    assert isinstance(wrapper, OptimWrapper)
    assert wrapper.cast_dtype is torch.bfloat16


def test_unknown_mmext_type_lists_registered_names():
    init_default_scope('mmseg')
    from mmseg.registry import OPTIM_WRAPPERS

    with pytest.raises(KeyError) as err:
        OPTIM_WRAPPERS.build(dict(type='mmext.NoSuchWrapper', optimizer=None))
    msg = str(err.value)
    assert "'NoSuchWrapper' is not registered in mmext" in msg
    assert 'CPUAutocastOptimWrapper' in msg


@pytest.mark.parametrize('host', HOSTS)
def test_custom_imports_registers_in_fresh_interpreter(host, tmp_path):
    """A host config with ``custom_imports=['mmext']`` is all a user needs."""
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        textwrap.dedent(f"""
        default_scope = '{host}'
        custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
        """)
    )
    code = textwrap.dedent(f"""
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        cfg = Config.fromfile({str(cfg)!r})
        init_default_scope(cfg.default_scope)
        from {host}.registry import OPTIM_WRAPPERS
        cls = OPTIM_WRAPPERS.get('mmext.CPUAutocastOptimWrapper')
        assert cls is not None and cls.__module__.startswith('mmext.'), cls
        print('ok')
        """)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith('ok')


@pytest.mark.parametrize('node', NODES)
def test_membership_keeps_the_parent_contract(node):
    """``in`` and ``get`` answer False / None on a miss (mmengine's contract), no raise."""
    reg = getattr(mmext_registry, node)
    assert 'Nope' not in reg
    assert 'mmext.Nope' not in reg
    assert reg.get('Nope') is None
    name = sorted(reg.module_dict)[0]
    assert name in reg and f'mmext.{name}' in reg


def test_unknown_mmext_type_in_model_build_lists_registered_names():
    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    with pytest.raises(KeyError) as err:
        MODELS.build(dict(type='mmext.SoftDiceLos'))
    assert 'SoftDiceLoss' in str(err.value) and 'ICULoss' in str(err.value)


def test_no_task_utils_node():
    assert not hasattr(mmext_registry, 'TASK_UTILS')
    assert 'TASK_UTILS' not in mmext_registry.__all__


@pytest.mark.parametrize('node', NODES)
def test_every_registered_class_is_public_in_its_subpackage(node):
    """``from mmext.<subpackage> import X`` works for every registered X, and is in
    ``__all__`` there and in every package above it up to ``mmext.<top>``."""
    import importlib

    for name, cls in getattr(mmext_registry, node).module_dict.items():
        parts = cls.__module__.split('.')
        assert parts[0] == 'mmext', cls
        for depth in range(len(parts) - 1, 1, -1):
            package = importlib.import_module('.'.join(parts[:depth]))
            assert getattr(package, name, None) is cls, (package.__name__, name)
            assert name in package.__all__, (package.__name__, name)


def test_issue_examples_import():
    from mmext.datasets.transforms import CoherentMixUp
    from mmext.engine.schedulers import WarmupCosineLR
    from mmext.models.heads import ICUClsHead
    from mmext.models.losses import LabelSmoothCrossEntropyLoss

    assert mmext_registry.MODELS.get('ICUClsHead') is ICUClsHead
    assert mmext_registry.MODELS.get('LabelSmoothCrossEntropyLoss') is LabelSmoothCrossEntropyLoss
    assert mmext_registry.TRANSFORMS.get('CoherentMixUp') is CoherentMixUp
    assert mmext_registry.PARAM_SCHEDULERS.get('WarmupCosineLR') is WarmupCosineLR


def test_readme_paper_table_links_every_registered_class():
    """README's paper table names every registered class once, linked to the file defining it."""
    import os.path as osp
    import re

    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    with open(osp.join(repo, 'README.md')) as f:
        readme = f.read()
    table = readme[readme.index('| paper | modules') :].split('\n\n')[0]
    links = re.findall(r'\[`(\w+)`\]\(([\w/.]+\.py)\)', table)
    registered = {
        name
        for node in mmext_registry.__all__
        if node != 'MMExtRegistry'
        for name in getattr(mmext_registry, node).module_dict
    }
    assert sorted(name for name, _ in links) == sorted(registered)
    for name, path in links:
        with open(osp.join(repo, path)) as f:
            assert re.search(rf'^class {name}\b', f.read(), re.M), (name, path)
