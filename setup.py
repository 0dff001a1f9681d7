"""Install mmext: ``pip install -e .`` (see README for the full environment)."""

import os
import os.path as osp
import re
import shutil
import sys

from setuptools import find_packages, setup


def read_version() -> str:
    with open(osp.join(osp.dirname(__file__), 'mmext', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(fname: str) -> list:
    """Read a requirements file, following ``-r`` includes, skipping comments."""
    reqs = []
    with open(fname) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Put ``configs``, ``tools`` and ``model-index.yml`` into ``mmext/.mim`` for OpenMMLab's mim.

    ``mim train|test mmext CONFIG`` runs ``<package>/.mim/tools/{train,test}.py`` and finds
    CONFIG under ``<package>/.mim/configs``; ``mim search mmext`` reads
    ``<package>/.mim/model-index.yml`` (as mmdet / mmseg package them). Editable installs
    (``develop``, ``editable_wheel``) and ``egg_info`` get relative symlinks, so the repository's
    files stay the only copy; wheels and sdists get copies. ``mmext/.mim`` is not tracked by git.
    """
    if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel', 'egg_info')):
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'install', 'build_py')):
        mode = 'copy'
    else:
        return
    here = osp.dirname(osp.abspath(__file__))
    mim_dir = osp.join(here, 'mmext', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src, dst = osp.join(here, name), osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, mim_dir), dst)
                continue
            except OSError:  # no symlinks (e.g. Windows without privileges): copy
                pass
        if osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


here = osp.dirname(osp.abspath(__file__))
add_mim_extension()
setup(
    name='mmext',
    version=read_version(),
    description='OpenMMLab plugin: balance-batch, tilted CE, bag of freebies '
    'for detection and ICU loss as registered modules',
    long_description=open(osp.join(here, 'README.md')).read()
    if osp.exists(osp.join(here, 'README.md'))
    else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools', 'tools.*')),
    include_package_data=True,
    package_data={
        'mmext': [
            '.mim/model-index.yml',
            '.mim/configs/**/*.py',
            '.mim/configs/**/*.yml',
            '.mim/configs/**/*.md',
            '.mim/tools/*.py',
            '.mim/tools/*.sh',
            '.mim/tools/**/*.py',
        ]
    },
    python_requires='>=3.9',
    install_requires=parse_requirements(osp.join(here, 'requirements', 'runtime.txt')),
    extras_require=dict(
        tests=parse_requirements(osp.join(here, 'requirements', 'tests.txt')),
        mim=parse_requirements(osp.join(here, 'requirements', 'mim.txt')),
        optional=parse_requirements(osp.join(here, 'requirements', 'optional.txt')),
    ),
    license='Apache License 2.0',
    zip_safe=False,
)
