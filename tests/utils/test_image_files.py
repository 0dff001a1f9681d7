"""mmext.utils.image_files: a file that cannot be decoded is named in the error."""

import os.path as osp
import traceback

import numpy as np
import pytest
from mmengine.dataset import BaseDataset
from PIL import Image

from mmext.utils.image_files import (
    NameDamagedFiles,
    damaged_file_error,
    image_file_problem,
    sample_error,
)
from tests.damaged_files import truncate


def _png(path, seed=0):
    """A 32x32 label map of random classes (large enough for a truncated PNG to keep its
    header: Pillow then says 'image file is truncated')."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 4, (32, 32)).astype(np.uint8)).save(path)
    return str(path)


def test_image_file_problem(tmp_path):
    good = _png(tmp_path / 'good.png')
    bad = truncate(_png(tmp_path / 'bad.png'))
    assert image_file_problem(good) is None
    assert image_file_problem(str(tmp_path / 'nothing.png')) == 'missing'
    problem = image_file_problem(bad)
    assert problem.startswith('OSError') and 'truncated' in problem
    with pytest.raises(OSError) as pil_error:  # what Pillow itself says: no file name
        np.array(Image.open(bad))
    assert bad not in str(pil_error.value)
    error = damaged_file_error(bad, pil_error.value, 'label map')
    assert isinstance(error, OSError)
    assert str(error).startswith(
        f'label map {bad} cannot be decoded (OSError: image file is truncated'
    )


class Loader(NameDamagedFiles, BaseDataset):
    """Loads image and label map with Pillow, as a pipeline without file names would."""

    METAINFO = dict(classes=('a', 'b'))

    def __init__(self, infos, **kwargs):
        self.infos = infos
        super().__init__(serialize_data=False, lazy_init=False, **kwargs)

    def load_data_list(self):
        return self.infos

    def prepare_data(self, idx):
        return super().prepare_data(idx)


def _load(info):
    if info.get('broken_transform'):
        raise KeyError('gt_seg_map')
    return {k: np.array(Image.open(info[k])) for k in ('img_path', 'seg_map_path')}


@pytest.mark.parametrize('damaged', ['img_path', 'seg_map_path'])
def test_dataset_names_the_damaged_file_of_a_sample(tmp_path, damaged):
    infos = [
        dict(img_path=_png(tmp_path / f'{i}.png'), seg_map_path=_png(tmp_path / f'{i}_l.png'))
        for i in range(3)
    ]
    truncate(infos[1][damaged])
    ds = Loader(infos, pipeline=[_load])
    assert ds[0]['seg_map_path'].shape == (32, 32)
    with pytest.raises(OSError) as info:
        ds[1]
    what = 'image' if damaged == 'img_path' else 'label map'
    message = str(info.value)
    assert f'dataset sample 1: {what} {infos[1][damaged]} cannot be decoded' in message
    assert 'image file is truncated' in message
    assert 'truncated' in str(info.value.__cause__)  # the original error is chained


def test_other_failures_keep_their_type_and_name_the_sample(tmp_path):
    infos = [
        dict(
            img_path=_png(tmp_path / 'a.png'),
            seg_map_path=_png(tmp_path / 'b.png'),
            broken_transform=True,
        )
    ]
    with pytest.raises(KeyError) as info:
        Loader(infos, pipeline=[_load])[0]
    shown = ''.join(traceback.format_exception(info.value))
    assert (
        f'while loading dataset sample 0: img_path={infos[0]["img_path"]}, '
        f'seg_map_path={infos[0]["seg_map_path"]}' in shown
    )
    # a missing file is named by its own FileNotFoundError: kept as it is
    missing = dict(img_path=str(tmp_path / 'gone.png'), seg_map_path=infos[0]['seg_map_path'])
    error = FileNotFoundError(2, 'No such file', missing['img_path'])
    assert sample_error(error, missing, 4) is error
    assert osp.basename(missing['img_path']) in ''.join(traceback.format_exception(error))
