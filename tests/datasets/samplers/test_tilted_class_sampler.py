"""Property tests of TiltedClassSampler (Algorithm 1, lines 3-4 of the TCE paper)."""

from unittest import mock

import numpy as np
import pytest

from mmext.datasets.samplers import sampler_context as context_module
from mmext.datasets.samplers import tilted_class_sampler as tcs_module
from mmext.datasets.samplers.class_index import ClassIndex
from mmext.datasets.samplers.tilted_class_sampler import TiltedClassSampler


class ToyDataset:
    """Minimal mmengine-style dataset: ``get_data_info`` with ``img_path``."""

    def __init__(self, image_classes, num_classes):
        self.image_classes = [list(c) for c in image_classes]
        self.metainfo = dict(classes=tuple(f'c{i}' for i in range(num_classes)))

    def __len__(self):
        return len(self.image_classes)

    def get_data_info(self, idx):
        return dict(img_path=f'img_{idx}.png', sample_idx=idx)


def random_index(rng, num_images, num_classes, empty_classes=()):
    rows = []
    for _ in range(num_images):
        k = rng.integers(1, min(4, num_classes) + 1)
        row = rng.choice(num_classes, size=k, replace=False)
        rows.append(
            [c for c in row if c not in empty_classes]
            or [next(c for c in range(num_classes) if c not in empty_classes)]
        )
    return rows


def make_sampler(rows, num_classes, batch_size=4, **kwargs):
    ds = ToyDataset(rows, num_classes)
    index = ClassIndex.from_lists(rows, num_classes)
    kwargs.setdefault('seed', 0)
    return TiltedClassSampler(batch_size=batch_size, dataset=ds, class_index=index, **kwargs)


@pytest.mark.parametrize('seed', range(25))
def test_every_batch_contains_its_class(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 12))
    rows = random_index(rng, int(rng.integers(5, 60)), k)
    bs = int(rng.integers(1, 6))
    sampler = make_sampler(rows, k, batch_size=bs, seed=seed, infinite=True)
    weights = rng.random(k) + 0.01
    sampler.set_class_weights(weights)
    it = iter(sampler)
    for _ in range(40):
        batch = next(it)
        rec = sampler.pop_record()
        assert len(batch) == bs
        assert batch == list(rec.indices)
        assert all(rec.cls in rows[i] for i in batch)
        pool = [i for i, r in enumerate(rows) if rec.cls in r]
        if len(pool) >= bs:  # drawn without replacement when the class has enough images
            assert len(set(batch)) == bs


def test_draw_frequencies_follow_weights():
    from scipy.stats import chi2

    rng = np.random.default_rng(0)
    k = 6
    rows = random_index(rng, 80, k)
    p_values = []
    for seed in range(8):
        sampler = make_sampler(rows, k, batch_size=2, seed=seed, infinite=True)
        w = np.array([0.05, 0.3, 0.1, 0.25, 0.0, 0.3])
        sampler.set_class_weights(w)
        it = iter(sampler)
        n = 3000
        counts = np.zeros(k)
        for _ in range(n):
            next(it)
            counts[sampler.pop_record().cls] += 1
        assert counts[4] == 0  # zero weight is never drawn
        keep = w > 0
        expected = n * w[keep]
        stat = ((counts[keep] - expected) ** 2 / expected).sum()
        p_values.append(chi2.sf(stat, keep.sum() - 1))
    # 8 independent chi-square tests: none far in the tail, and not all suspiciously low
    assert min(p_values) > 1e-3
    assert np.median(p_values) > 0.05


def test_classes_without_images_get_zero_weight():
    rows = [[0, 1], [1], [0]]  # class 2 has no image
    sampler = make_sampler(rows, 3, batch_size=1)
    assert sampler.class_weights[2] == 0
    sampler.set_class_weights([1.0, 1.0, 5.0])  # the empty class's weight is dropped
    np.testing.assert_allclose(sampler.class_weights, [0.5, 0.5, 0.0])
    with pytest.raises(ValueError, match='weight 0'):
        sampler.set_class_weights([0.0, 0.0, 1.0])


def test_errors():
    rows = [[0], [1]]
    ds = ToyDataset(rows, 2)
    index = ClassIndex.from_lists(rows, 2)
    with pytest.raises(ValueError, match='needs a dataset'):
        TiltedClassSampler(batch_size=2, class_index=index)
    with pytest.raises(ValueError, match='batch_size'):
        TiltedClassSampler(batch_size=0, dataset=ds, class_index=index)
    with pytest.raises(ValueError, match='covers 3 images'):
        TiltedClassSampler(
            batch_size=1, dataset=ds, class_index=ClassIndex.from_lists([[0], [1], [0]], 2)
        )
    with pytest.raises(ValueError, match='nothing to sample'):
        TiltedClassSampler(batch_size=1, dataset=ds, class_index=ClassIndex.from_lists([[], []], 2))
    sampler = TiltedClassSampler(batch_size=1, dataset=ds, class_index=index, seed=0)
    with pytest.raises(ValueError, match='expected 2 class weights'):
        sampler.set_class_weights([1.0])
    with pytest.raises(ValueError, match='non-negative'):
        sampler.set_class_weights([1.0, -1.0])
    with pytest.raises(ValueError, match='non-negative'):
        sampler.set_class_weights([1.0, float('nan')])


def test_len_epoch_and_infinite():
    rows = [[0], [1], [0, 1]] * 5  # 15 images
    sampler = make_sampler(rows, 2, batch_size=4)
    assert len(sampler) == 4 and len(list(sampler)) == 4
    sampler.set_epoch(3)
    assert sampler.epoch == 3 and len(list(sampler)) == 4
    assert len(list(make_sampler(rows, 2, batch_size=4, epoch_length=7))) == 7
    inf = iter(make_sampler(rows, 2, batch_size=4, infinite=True))
    assert len([next(inf) for _ in range(50)]) == 50
    with mock.patch.object(context_module, 'get_dist_info', return_value=(1, 2)):
        assert len(make_sampler(rows, 2, batch_size=4)) == 2


@pytest.mark.parametrize('seed', range(5))
def test_faked_distributed_same_classes_disjoint_images(seed):
    rng = np.random.default_rng(seed)
    rows = random_index(rng, 60, 5)
    streams = []
    for rank in range(2):
        with mock.patch.object(context_module, 'get_dist_info', return_value=(rank, 2)):
            sampler = make_sampler(rows, 5, batch_size=3, seed=seed, infinite=True)
        assert (sampler.rank, sampler.world_size) == (rank, 2)
        it = iter(sampler)
        stream = []
        for _ in range(30):
            batch = next(it)
            rec = sampler.pop_record()
            stream.append((rec.cls, batch, rec.indices))
        streams.append(stream)
    for (c0, b0, g0), (c1, b1, g1) in zip(*streams):
        assert c0 == c1 and g0 == g1  # same class and global batch on every rank
        assert b0 + b1 == list(g0)  # rank r takes the r-th slice
        assert all(c0 in rows[i] for i in b0 + b1)
        pool = sum(c0 in r for r in rows)
        if pool >= 6:
            assert not set(b0) & set(b1)  # different images on the two ranks


def test_pop_record_matches_batch_keys_and_resyncs():
    rows = [[0], [1], [0, 1], [1], [0]] * 8
    sampler = make_sampler(rows, 2, batch_size=3, infinite=True)
    it = iter(sampler)
    batches = [next(it) for _ in range(4)]
    assert batches[2] != batches[3]
    recs = list(sampler._issued)
    # the hook saw batch 0 and 1, missed batch 2 (consumed elsewhere), now sees batch 3
    keys = [[f'img_{i}.png' for i in b] for b in batches]
    assert sampler.pop_record('img_path', keys[0]) == recs[0]
    assert sampler.pop_record('sample_idx', batches[1]) == recs[1]
    with pytest.warns(UserWarning, match='1 drawn batch'):
        assert sampler.pop_record('img_path', keys[3]) == recs[3]
    with pytest.warns(UserWarning, match='no drawn batch is outstanding'):
        assert sampler.pop_record('img_path', keys[3]) is None


def test_state_round_trip_replays_pending_then_same_stream():
    rng = np.random.default_rng(1)
    rows = random_index(rng, 40, 6)
    weights = rng.random(6) + 0.1
    a = make_sampler(rows, 6, batch_size=3, infinite=True)
    a.set_class_weights(weights)
    ita = iter(a)
    for _ in range(5):
        next(ita)
        a.pop_record()
    prefetched = [next(ita) for _ in range(3)]  # drawn, not trained on yet
    state = a.state_dict()
    rest_a = prefetched + [next(ita) for _ in range(20)]

    b = make_sampler(rows, 6, batch_size=3, infinite=True, seed=123)  # other seed
    b.set_class_weights(weights)
    itb = iter(b)
    early = [next(itb) for _ in range(2)]  # an iterator that prefetched before resume
    b.load_state_dict(state)
    b.skip_batches(4)  # the loop discards 4 batches: 2 already drawn + 2 more
    skipped = early + [next(itb) for _ in range(2)]
    assert len(skipped) == 4
    rest_b = [next(itb) for _ in range(23)]
    assert rest_b == rest_a
    assert all(r.skip for r in list(b._issued)[:4])
    with pytest.raises(ValueError, match='for 40 images'):
        make_sampler(rows[:10], 6).load_state_dict(state)


def test_without_hook_the_record_queue_is_bounded():
    rows = [[0], [1]] * 5
    sampler = make_sampler(rows, 2, batch_size=2, infinite=True)
    it = iter(sampler)
    with mock.patch.object(tcs_module, 'MAX_OUTSTANDING', 50):
        with pytest.warns(UserWarning, match='never matched'):
            for _ in range(120):
                next(it)
    assert len(sampler._issued) == 50


def test_state_of_a_sampler_with_another_class_count_is_refused():
    """Its pending batches are images of its classes: replaying them here would train on
    batches whose class means something else."""
    rng = np.random.default_rng(3)
    rows = random_index(rng, 30, 4)
    a = make_sampler(rows, 4, batch_size=2, infinite=True)
    it = iter(a)
    for _ in range(3):
        next(it)  # drawn, not trained on: pending in the state
    state = a.state_dict()
    assert state['num_classes'] == 4 and len(state['pending']) == 3
    b = make_sampler(rows, 6, batch_size=2, infinite=True)  # same images, 6 classes
    with pytest.raises(ValueError, match='sampler state is for 4 classes, the sampler has 6'):
        b.load_state_dict(state)
    assert not b._pending
    same = make_sampler(rows, 4, batch_size=2, infinite=True, seed=9)
    same.load_state_dict(state)
    assert [r.indices for r in same._pending] == [r.indices for r in a._issued]


def test_state_saved_without_the_class_count():
    """States written before the class count was stored: accepted when the pending classes
    exist here, refused otherwise."""
    rows = [[0, 1], [1, 2], [2, 0], [1]] * 5
    a = make_sampler(rows, 3, batch_size=2, infinite=True)
    it = iter(a)
    next(it)
    legacy = {k: v for k, v in a.state_dict().items() if k != 'num_classes'}
    b = make_sampler(rows, 3, batch_size=2, infinite=True)
    b.load_state_dict(legacy)
    assert [r.indices for r in b._pending] == [r.indices for r in a._issued]
    legacy['pending'] = [(5, legacy['pending'][0][1])]  # a class this sampler does not have
    with pytest.raises(ValueError, match='pending batches of class 5, the sampler has 3'):
        make_sampler(rows, 3, batch_size=2, infinite=True).load_state_dict(legacy)
