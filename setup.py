"""Install mmext: ``pip install -e .`` (see README for the full environment)."""
import os.path as osp
import re

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
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


here = osp.dirname(osp.abspath(__file__))
setup(
    name='mmext',
    version=read_version(),
    description='OpenMMLab plugin: balance-batch, tilted CE, bag of freebies '
    'for detection and ICU loss as registered modules',
    long_description=open(osp.join(here, 'README.md')).read()
    if osp.exists(osp.join(here, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=parse_requirements(
        osp.join(here, 'requirements', 'runtime.txt')),
    extras_require=dict(
        tests=parse_requirements(osp.join(here, 'requirements', 'tests.txt')),
        optional=parse_requirements(
            osp.join(here, 'requirements', 'optional.txt'))),
    license='Apache License 2.0',
    zip_safe=False,
)
