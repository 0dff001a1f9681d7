"""mmext's registry nodes resolve ``type='mmext.X'`` from every host's scope."""
import subprocess
import sys
import textwrap

import pytest
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from mmext import registry as mmext_registry

HOSTS = ('mmdet', 'mmseg', 'mmpretrain')
NODES = ('MODELS', 'DATA_SAMPLERS', 'TRANSFORMS', 'DATASETS', 'HOOKS',
         'PARAM_SCHEDULERS', 'OPTIM_WRAPPERS', 'METRICS')


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
    from mmengine.optim import OptimWrapper
    import torch
    init_default_scope(host)
    host_reg = _host_registry(host, 'OPTIM_WRAPPERS')
    model = torch.nn.Linear(2, 2)
    wrapper = host_reg.build(
        dict(
            type='mmext.CPUAutocastOptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
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
        """))
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
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith('ok')
