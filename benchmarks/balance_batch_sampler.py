"""Cost of BalanceBatchSampler: epoch plan time and DataLoader throughput.

Targets (issue): the epoch plan of 100k images x 150 classes takes <= 0.5 s; a DataLoader
with BalanceBatchSampler loads >= 0.98x the images per second of mmengine's
``DefaultSampler`` + torch ``BatchSampler`` (what the Runner builds otherwise) on the same
dataset.

1. Plan: synthetic long-tailed class sets (class k in an image with probability ~ 1/(k+1),
   1-8 classes per image), ``batch_max=8``; ``batch_cl`` 4, 8 and 12; one rank and 8 ranks
   (each rank computes every rank's plan to equalise batch counts, so the 8-rank time is
   the per-process time). Median over 3 epochs; the one-off sampler construction (bitmasks
   + feasibility check) is reported separately.
2. Throughput: one full epoch through ``torch.utils.data.DataLoader`` (``num_workers=0``, so
   nothing hides the sampler's cost; ``pseudo_collate``) over a dataset whose
   ``__getitem__`` decodes an in-memory PNG image and its label map: 128x128 (a light
   loading cost; mmseg's VOC pipeline costs far more per image) and 512x512 (VOC-sized).
   Images per second of thread CPU time include the plan, which BalanceBatchSampler builds
   when the epoch starts. Three samplers alternate: DefaultSampler + BatchSampler(8) (the
   target's reference), DefaultSampler's order cut into the batch sizes of a Balance-batch
   plan (isolates the sampler's own cost from the DataLoader's per-batch cost of the smaller
   batches that ``batch_cl`` asks for), and BalanceBatchSampler; ratios of the medians.
3. Class-index cache (section ``index``; target: a second run loads the index in ~1 s):
   an mmseg ``BaseSegDataset`` over VOC-aug-sized data (10,582 label maps of 500x375 with
   background, 1-3 object rectangles of 20 classes and 255 borders, written to a temporary
   folder); the first ``build_class_index`` decodes every map in a thread pool with the
   progress bar and writes the cache, the second (median of 3) only hashes paths, sizes and
   modification times and loads the ``.npz``; then one label map is rewritten and the
   next call must rebuild (a changed dataset never reuses a stale index). Results go to
   ``benchmarks/results/balance_batch_class_index.*``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/balance_batch_sampler.py [--quick]
    OMP_NUM_THREADS=1 python benchmarks/balance_batch_sampler.py --sections index
"""

import argparse
import io
import os
import os.path as osp
import shutil
import tempfile
import time

import numpy as np
from mmengine.dataset import DefaultSampler, pseudo_collate
from PIL import Image
from timing import command_line, machine_info, median, timed, verdict, write_results
from torch.utils.data import BatchSampler, DataLoader

from mmext.datasets.samplers import BalanceBatchSampler, ClassIndex, build_class_index


def make_index(num_images: int, num_classes: int, seed: int = 0) -> ClassIndex:
    """Long-tailed class sets, 1-8 classes per image (vectorised)."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, num_classes + 1)
    pop /= pop.sum()
    sizes = rng.integers(1, 9, num_images)
    draws = rng.choice(num_classes, size=(num_images, 16), p=pop)
    rows = []
    for size, row in zip(sizes, draws):
        uniq = list(dict.fromkeys(row.tolist()))[:size]
        rows.append(uniq)
    return ClassIndex.from_lists(rows, num_classes)


class PngDataset:
    """Decodes an in-memory PNG image + label map per item (same bytes for every index)."""

    def __init__(self, num_images: int, num_classes: int, size: int) -> None:
        rng = np.random.default_rng(0)
        self.metainfo = dict(classes=tuple(f'c{i}' for i in range(num_classes)))
        self.num_images = num_images
        img, lab = io.BytesIO(), io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(img, 'PNG')
        Image.fromarray(rng.integers(0, num_classes, (size, size), dtype=np.uint8)).save(lab, 'PNG')
        self.img, self.lab = img.getvalue(), lab.getvalue()

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, idx: int) -> dict:
        img = np.asarray(Image.open(io.BytesIO(self.img)))
        lab = np.asarray(Image.open(io.BytesIO(self.lab)))
        return dict(idx=idx, img=img, lab=lab)


class Sized:
    """A dataset stand-in with only ``len`` and ``metainfo`` (plan timing)."""

    def __init__(self, n: int, num_classes: int) -> None:
        self.n = n
        self.metainfo = dict(classes=tuple(f'c{i}' for i in range(num_classes)))

    def __len__(self) -> int:
        return self.n


def time_plans(index: ClassIndex, batch_max: int, batch_cl: int, world: int) -> dict:
    """Construction time and median plan time over 3 epochs (rank 0 of ``world``)."""
    base = DefaultSampler(Sized(len(index), index.num_classes), seed=0)
    base.rank, base.world_size = 0, world
    t0 = time.perf_counter()
    sampler = BalanceBatchSampler(base, batch_size=batch_max, batch_cl=batch_cl, class_index=index)
    build = time.perf_counter() - t0
    lengths = []
    times = [
        timed(lambda: lengths.append(len(sampler.plan(epoch))), clock=time.perf_counter)()
        for epoch in range(3)
    ]
    plan = sampler.plan(2)
    return dict(
        batch_max=batch_max,
        batch_cl=batch_cl,
        world_size=world,
        build_s=round(build, 3),
        plan_s=round(median(times), 3),
        batches=len(plan),
        batches_per_epoch=lengths,
        mean_batch_size=round(float(np.mean([len(b) for b in plan])), 2),
        **sampler.epoch_stats,
    )


def epoch_throughput(dataset, batch_sampler) -> float:
    """Images per second of one full DataLoader epoch.

    With ``num_workers=0`` the plan, the sampling, the decoding and the collation all run in
    this thread, so its CPU time (``time.thread_time``) is the cost, unaffected by other
    processes sharing the cores (wall time on a shared machine varied by +-10 % between
    epochs).
    """
    loader = DataLoader(
        dataset, batch_sampler=batch_sampler, num_workers=0, collate_fn=pseudo_collate
    )
    images = []
    seconds = timed(lambda: images.append(sum(len(batch['idx']) for batch in loader)))()
    return images[0] / seconds


def loader_cases(args: argparse.Namespace) -> list:
    """(image size, number of images) of the throughput runs: the light ``--image-size``
    case and a VOC-sized one (512x512, a tenth of the images)."""
    return [(args.image_size, args.loader_images), (512, max(args.loader_images // 10, 100))]


def loader_throughput(n: int, size: int, num_classes: int, repeats: int) -> dict:
    """Median images/s of DefaultSampler + BatchSampler(8), of DefaultSampler cut into the
    batch sizes of the Balance-batch plan, and of BalanceBatchSampler, runs alternating."""
    index = make_index(n, num_classes, seed=1)
    dataset = PngDataset(n, num_classes, size)
    ours, ref, same = [], [], []
    sizes = []
    for rep in range(repeats):
        ref.append(
            epoch_throughput(
                dataset, BatchSampler(DefaultSampler(dataset, seed=rep), 8, drop_last=False)
            )
        )
        balance = BalanceBatchSampler(
            DefaultSampler(dataset, seed=rep), batch_size=8, batch_cl=8, class_index=index
        )
        sizes = [len(b) for b in balance.plan(rep + 1)]
        order = list(DefaultSampler(dataset, seed=rep))
        cuts = np.cumsum([0] + sizes)
        chunks = [order[a % n : a % n + (b - a)] for a, b in zip(cuts[:-1], cuts[1:])]
        same.append(epoch_throughput(dataset, chunks))
        ours.append(epoch_throughput(dataset, balance))
    ours_m, ref_m, same_m = (median(v) for v in (ours, ref, same))
    return dict(
        image_size=size,
        images=n,
        balance=ours_m,
        default=ref_m,
        same_sizes=same_m,
        ratio=ours_m / ref_m,
        ratio_same_sizes=ours_m / same_m,
        mean_batch_size=float(np.mean(sizes)),
        balance_images_per_s=[round(x, 1) for x in ours],
        default_images_per_s=[round(x, 1) for x in ref],
        same_sizes_images_per_s=[round(x, 1) for x in same],
    )


def write_label_maps(root: str, num_images: int, width: int, height: int) -> None:
    """VOC-like label maps: background, 1-3 object rectangles, 255 borders (+ empty jpgs)."""
    os.makedirs(osp.join(root, 'img'))
    os.makedirs(osp.join(root, 'ann'))
    rng = np.random.default_rng(0)
    for i in range(num_images):
        seg = np.zeros((height, width), np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            x0, y0 = rng.integers(0, width - 40), rng.integers(0, height - 40)
            x1, y1 = x0 + rng.integers(20, 200), y0 + rng.integers(20, 200)
            seg[y0:y1, x0:x1] = 255
            seg[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2] = rng.integers(1, 21)
        Image.fromarray(seg).save(osp.join(root, 'ann', f'{i:06d}.png'))
        open(osp.join(root, 'img', f'{i:06d}.jpg'), 'wb').close()  # listed, never read


def time_index_cache(args: argparse.Namespace) -> dict:
    """First build, second load and rebuild after a change of the class index."""
    from mmseg.datasets import BaseSegDataset

    tmp = tempfile.mkdtemp(prefix='mmext_index_bench_')
    try:
        t0 = time.perf_counter()
        write_label_maps(osp.join(tmp, 'd'), args.index_images, 500, 375)
        print(f'wrote {args.index_images} label maps in {time.perf_counter() - t0:.1f} s')
        dataset = BaseSegDataset(
            data_root=osp.join(tmp, 'd'),
            data_prefix=dict(img_path='img', seg_map_path='ann'),
            img_suffix='.jpg',
            seg_map_suffix='.png',
            pipeline=[],
            metainfo=dict(classes=tuple(f'c{i}' for i in range(21))),
        )
        cache = osp.join(tmp, 'cache')
        workers = min(8, os.cpu_count() or 1)
        t0 = time.perf_counter()
        first = build_class_index(dataset, cache_dir=cache, num_workers=workers)
        first_s = time.perf_counter() - t0
        loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            again = build_class_index(dataset, cache_dir=cache, progress=False)
            loads.append(time.perf_counter() - t0)
        same = bool(
            np.array_equal(first.classes, again.classes)
            and np.array_equal(first.offsets, again.offsets)
        )
        changed = osp.join(tmp, 'd', 'ann', f'{0:06d}.png')
        Image.fromarray(np.full((375, 500), 7, np.uint8)).save(changed)
        os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
        t0 = time.perf_counter()
        rebuilt = build_class_index(dataset, cache_dir=cache, progress=False, num_workers=workers)
        rebuild_s = time.perf_counter() - t0
        return dict(
            label_maps=len(dataset),
            map_size='500x375',
            threads=workers,
            first_build_s=round(first_s, 2),
            second_load_s=round(median(loads), 3),
            second_load_runs_s=[round(x, 3) for x in loads],
            same_index=same,
            rebuild_after_change_s=round(rebuild_s, 2),
            rebuilt_sees_change=rebuilt.image_classes[0].tolist() == [7],
            cache_files=len(os.listdir(cache)),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_index_results(res: dict) -> None:
    """benchmarks/results/balance_batch_class_index.{json,md}."""
    res = dict(
        benchmark='balance_batch_class_index',
        target='second_load_s <= ~1 s',
        passed=bool(
            res['second_load_s'] <= 1.0 and res['same_index'] and res['rebuilt_sees_change']
        ),
        **res,
    )
    write_results(
        'balance_batch_class_index',
        res,
        f'Written by `{command_line()}` (CPU, '
        f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}, {os.cpu_count()} cores '
        'shared with other jobs).\n\n'
        f'Class index of an mmseg `BaseSegDataset` with {res["label_maps"]} label maps '
        f'({res["map_size"]}, VOC-aug size) through `build_class_index`:\n\n'
        '| step | seconds |\n|---|---|\n'
        f'| first build ({res["threads"]} decoding threads, progress bar, cache written) '
        f'| {res["first_build_s"]:.2f} |\n'
        f'| second load from the cache (median of 3: {res["second_load_runs_s"]}) | '
        f'{res["second_load_s"]:.3f} |\n'
        f'| rebuild after one label map changed | {res["rebuild_after_change_s"]:.2f} |'
        f'\n\nSecond load returns the same index: {res["same_index"]}; the rebuild sees '
        f'the changed map: {res["rebuilt_sees_change"]}; cache files: '
        f'{res["cache_files"]}. Target: second load <= ~1 s: '
        f'{verdict(res["passed"])}.\n',
    )


def main() -> None:
    """Run the measurements; print; write benchmarks/results/balance_batch_*."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=100_000, help='plan benchmark size')
    parser.add_argument('--classes', type=int, default=150)
    parser.add_argument(
        '--loader-images',
        type=int,
        default=2_000,
        help='throughput dataset size (the ratio does not depend on it: '
        'plan and loading both scale linearly)',
    )
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument(
        '--repeats',
        type=int,
        default=21,
        help='alternating epochs per sampler (short epochs, many rounds: '
        'the medians resist other tenants of a shared machine)',
    )
    parser.add_argument(
        '--index-images',
        type=int,
        default=10_582,
        help='label maps of the class-index cache benchmark (VOC aug)',
    )
    parser.add_argument(
        '--sections',
        nargs='+',
        default=['sampler', 'index'],
        choices=['sampler', 'index'],
        help='sampler: plan + DataLoader; index: class-index cache',
    )
    parser.add_argument(
        '--quick',
        action='store_true',
        help='10k images, 2k loader images, 500 label maps; writes nothing',
    )
    args = parser.parse_args()
    if args.quick:
        args.images, args.loader_images, args.repeats = 10_000, 2_000, 1
        args.index_images = 500
    if 'index' in args.sections:
        res = time_index_cache(args)
        print(
            f'class index, {res["label_maps"]} label maps: first build '
            f'{res["first_build_s"]:.2f} s, second load {res["second_load_s"]:.3f} s '
            f'(target ~1 s), rebuild after a change {res["rebuild_after_change_s"]:.2f} s, '
            f'same index {res["same_index"]}, change seen {res["rebuilt_sees_change"]}'
        )
        if not args.quick:
            write_index_results(res)
    if 'sampler' in args.sections:
        bench_sampler(args)


def bench_sampler(args: argparse.Namespace) -> None:
    """Plan time and DataLoader throughput (sections 1 and 2 of the module docstring)."""

    index = make_index(args.images, args.classes)
    plans = [time_plans(index, 8, cl, 1) for cl in (4, 8, 12)]
    plans.append(time_plans(index, 8, 8, 8))
    for p in plans:
        print(
            f'plan {args.images} images x {args.classes} classes, batch_max {p["batch_max"]}, '
            f'batch_cl {p["batch_cl"]}, world {p["world_size"]}: {p["plan_s"]:.3f} s '
            f'(construction {p["build_s"]:.3f} s, batches per epoch '
            f'{p["batches_per_epoch"]}, mean size '
            f'{p["mean_batch_size"]}, short {p["short_batches"]})'
        )
    plan_ok = all(p['plan_s'] <= 0.5 for p in plans)

    loads = [
        loader_throughput(n, size, args.classes, args.repeats) for size, n in loader_cases(args)
    ]
    for r in loads:
        print(
            f'DataLoader {r["images"]} images of {r["image_size"]}x{r["image_size"]}, '
            f'images/s: BalanceBatchSampler {r["balance"]:.0f} vs DefaultSampler + '
            f'BatchSampler(8) {r["default"]:.0f}: ratio {r["ratio"]:.3f} (target >= 0.98); '
            f'vs DefaultSampler cut into the same batch sizes {r["same_sizes"]:.0f}: ratio '
            f'{r["ratio_same_sizes"]:.3f}'
        )
    result = dict(
        benchmark='balance_batch_sampler',
        images=args.images,
        classes=args.classes,
        plans=plans,
        plan_target='plan_s <= 0.5',
        plan_passed=plan_ok,
        loader=loads,
        throughput_target='ratio >= 0.98 (vs DefaultSampler + BatchSampler(8))',
        throughput_passed=[r['ratio'] >= 0.98 for r in loads],
        **machine_info(),
    )
    print(
        f'plan target: {verdict(plan_ok)}; throughput target: '
        + ', '.join(f'{r["image_size"]}px {verdict(r["ratio"] >= 0.98)}' for r in loads)
    )
    if not args.quick:
        rows = '\n'.join(
            f'| {p["batch_max"]} | {p["batch_cl"]} | {p["world_size"]} | {p["plan_s"]:.3f} | '
            f'{p["build_s"]:.3f} | {", ".join(map(str, p["batches_per_epoch"]))} | '
            f'{p["mean_batch_size"]} | {p["short_batches"]} |'
            for p in plans
        )
        write_results(
            'balance_batch_sampler',
            result,
            f'Written by `{command_line()}` (CPU, OMP_NUM_THREADS='
            f'{result["threads"]}).\n\n'
            f'Epoch plan, {args.images} images x {args.classes} classes (target <= 0.5 s):'
            '\n\n| batch_max | batch_cl | ranks | plan s | construction s | '
            'batches (epochs 0-2) | '
            'mean batch size | short batches |\n|---|---|---|---|---|---|---|---|\n'
            f'{rows}\n\nDataLoader throughput, num_workers=0, {args.repeats} alternating '
            'epochs per sampler, median images/s; each item decodes an in-memory PNG image '
            'and label map of the given size. "same sizes" is DefaultSampler\'s order cut '
            'into the batch sizes of the Balance-batch plan: the ratio against it is the '
            'cost of the sampler itself; the rest of the gap to BatchSampler(8) is the '
            "DataLoader's per-batch cost of the smaller batches that batch_cl asks for "
            '(the paper limits every batch to batch_cl classes).\n\n'
            '| image size | images | DefaultSampler + BatchSampler(8) | same sizes | '
            'BalanceBatchSampler(8, batch_cl=8) | ratio (target >= 0.98) | '
            'ratio vs same sizes | mean batch size |\n|---|---|---|---|---|---|---|---|\n'
            + '\n'.join(
                f'| {r["image_size"]} | {r["images"]} | {r["default"]:.0f} | '
                f'{r["same_sizes"]:.0f} | {r["balance"]:.0f} | {r["ratio"]:.3f} '
                f'{verdict(r["ratio"] >= 0.98)} | {r["ratio_same_sizes"]:.3f} | '
                f'{r["mean_batch_size"]:.2f} |'
                for r in loads
            )
            + '\n',
        )


if __name__ == '__main__':
    main()
