"""OpenMMLab's ``mim`` on an installed mmext: ``mim train|test mmext CONFIG``, ``mim search mmext``.

The fixture lays mmext out as an installation does: ``setup.py egg_info`` (which also runs
``add_mim_extension``, creating ``mmext/.mim/{configs,tools,model-index.yml}``) writes the
package metadata into a site folder that holds the package, and that folder comes first on
``PYTHONPATH``, so mim's ``get_installed_path('mmext')`` resolves there (as for a wheel
install), not to the editable install of the environment.
"""

import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from tests.tools.conftest import REPO

CONFIG = 'resnet-tiny_1xb32-1k_digits-cls.py'  # the fastest digits config (28x28 images)


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp('mim')
    site_dir = root / 'site'
    site_dir.mkdir()
    subprocess.run(
        [sys.executable, 'setup.py', '-q', 'egg_info', '--egg-base', str(site_dir)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    os.symlink(osp.join(REPO, 'mmext'), site_dir / 'mmext')
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join(
            [str(site_dir)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
        ),
    )
    ws = root / 'ws'
    ws.mkdir()
    return dict(env=env, ws=str(ws), site=str(site_dir))


def mim(args, site, check=True):
    out = subprocess.run(
        [sys.executable, '-m', 'mim', *args],
        cwd=site['ws'],
        env=site['env'],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert out.returncode == 0, f'{args}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}'
    return out


def test_setup_links_configs_tools_and_index_into_mmext_mim(site):
    mim_dir = osp.join(site['site'], 'mmext', '.mim')
    for name in ('configs', 'tools', 'model-index.yml'):
        assert osp.realpath(osp.join(mim_dir, name)) == osp.realpath(osp.join(REPO, name))


def test_mim_train_then_test_a_digits_config(site):
    work = osp.join(site['ws'], 'work')
    out = mim(
        [
            'train',
            'mmext',
            CONFIG,
            '--work-dir',
            work,
            '--cfg-options',
            'train_cfg.max_iters=1',
            'train_cfg.val_interval=100',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.logger.interval=1',
        ],
        site,
    )
    # mim resolved the bare name to the repository's config through mmext/.mim/configs
    assert osp.join(REPO, 'configs', 'digits', CONFIG) in out.stdout.replace('\n', '')
    assert osp.isfile(osp.join(work, 'iter_1.pth'))
    assert open(osp.join(work, 'last_checkpoint')).read().strip().endswith('iter_1.pth')

    metrics = osp.join(site['ws'], 'metrics.json')
    mim(
        [
            'test',
            'mmext',
            CONFIG,
            '--checkpoint',
            osp.join(work, 'iter_1.pth'),
            '--work-dir',
            osp.join(site['ws'], 'test'),
            '--out',
            metrics,
            '--cfg-options',
            'test_dataloader.dataset.indices=20',
        ],
        site,
    )
    result = json.load(open(metrics))
    # the config's evaluator: Accuracy + macro SingleLabelMetric
    assert set(result) == {
        'accuracy/top1',
        'single-label/precision',
        'single-label/recall',
        'single-label/f1-score',
    }
    # 20 test images: top-1 accuracy is a multiple of 5 %
    assert result['accuracy/top1'] * 20 / 100 == pytest.approx(
        round(result['accuracy/top1'] * 20 / 100)
    )


def test_mim_search_lists_every_config(site):
    out = mim(['search', 'mmext'], site)
    listed = set(re.findall(r'^config id: (\S+)$', out.stdout, flags=re.M))
    on_disk = {
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in p
    }
    assert listed == on_disk


def test_mim_refuses_an_unknown_config_and_a_test_without_checkpoint(site):
    out = mim(['train', 'mmext', 'no-such-config_digits-cls.py'], site, check=False)
    assert out.returncode != 0
    assert 'can not find the config file in codebase mmext' in out.stderr
    out = mim(['test', 'mmext', CONFIG], site, check=False)
    assert out.returncode != 0
    assert 'You must specify the checkpoint path' in out.stderr
