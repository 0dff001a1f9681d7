"""Composition of RGB canvases holding several long-tailed, tinted real digits.

Shared by the segmentation and detection builders of
:mod:`mmext.datasets.digits.builders`: the same canvases give the label maps (pixels of
ink above a threshold labelled ``1 + digit``) and the boxes (tight box of those pixels).
The number of digit instances of class ``k`` is the largest-remainder apportionment of
the total over the profile ``imbalance_ratio ** (-k / 9)`` (see
:mod:`mmext.datasets.digits.common`).
"""

import dataclasses
from typing import List, Sequence, Tuple

import numpy as np
from PIL import Image

from .common import (
    NUM_DIGITS,
    apportion,
    check_int,
    check_range,
    check_ratio,
    check_split,
    ink_crop,
    load_mnist_digits,
    long_tail_profile,
    split_pools,
    split_rng,
)

# one composed canvas: image (H, W, 3) uint8, label map (H, W) uint8 and the instances as
# (digit, x0, y0, x1, y1) with inclusive pixel bounds of the digit's ink
Canvas = Tuple[np.ndarray, np.ndarray, List[Tuple[int, int, int, int, int]]]


def _instance_counts(
    rng: np.random.Generator,
    num_images: int,
    digits_per_image: Tuple[int, int],
    imbalance_ratio: float,
) -> Tuple[np.ndarray, np.ndarray]:
    """Draw the digits per image and apportion their total over the class profile.

    Returns:
        tuple: Digits per image ``(num_images,)`` and instances per class ``(10,)``.

    Raises:
        ValueError: If a class would get no instance.
    """
    per_image = rng.integers(digits_per_image[0], digits_per_image[1] + 1, size=num_images)
    counts = apportion(int(per_image.sum()), long_tail_profile(imbalance_ratio))
    if counts.min() < 1:
        raise ValueError(
            f'imbalance_ratio={imbalance_ratio} is too large for {int(per_image.sum())} '
            f'digit instances ({num_images} images): digit '
            f'{int(np.argmin(counts))} would get no instance; raise num_images or '
            'lower imbalance_ratio'
        )
    return per_image, counts


def _tint(rng: np.random.Generator, dark: bool) -> np.ndarray:
    """A random colour whose channels all lie in 0..100 (dark) or 156..255 (light).

    A dark and a light tint differ by at least 56 in every channel, so ink drawn in one
    over a background of the other always contrasts, whatever the hues.
    """
    low, high = (0, 101) if dark else (156, 256)
    return rng.integers(low, high, size=3).astype(np.float64)


@dataclasses.dataclass(frozen=True)
class CanvasParams:
    """The parameters of one composed split, shared by the segmentation and detection builders.

    Args:
        num_images (int): Number of canvases, > 0.
        imbalance_ratio (float): Head/tail ratio of the instance counts, >= 1.
        seed (int): Random seed, >= 0.
        canvas_size (int): Side of the square canvas in pixels.
        digits_per_image (Sequence[int]): Inclusive ``(min, max)`` digits per canvas.
        digit_size (Sequence[int]): Inclusive ``(min, max)`` longer side of a digit's ink.
        ink_threshold (int): Ink intensity (0..254) above which a pixel is digit.
        noise_std (float): Standard deviation of the additive Gaussian pixel noise.
    """

    num_images: int
    imbalance_ratio: float
    seed: int
    canvas_size: int
    digits_per_image: Sequence[int]
    digit_size: Sequence[int]
    ink_threshold: int
    noise_std: float

    def check(self, split: str) -> Tuple[int, int]:
        """Validate the parameters for ``split``.

        Args:
            split (str): ``'train'`` or ``'val'``.

        Returns:
            tuple[int, int]: The grid side ``g`` and the cell side in pixels.

        Raises:
            ValueError: With the offending parameter named.
        """
        check_split(split)
        check_int('num_images', self.num_images, 1)
        check_ratio(self.imbalance_ratio)
        _, hi_n = check_range('digits_per_image', self.digits_per_image, 1)
        lo_s, _ = check_range('digit_size', self.digit_size, 4)
        check_int('canvas_size', self.canvas_size, 4)
        check_int('ink_threshold', self.ink_threshold, 0)
        if self.ink_threshold > 254:
            raise ValueError(f'ink_threshold must be in [0, 254], got {self.ink_threshold}')
        if not self.noise_std >= 0:
            raise ValueError(f'noise_std must be >= 0, got {self.noise_std!r}')
        grid = int(np.ceil(np.sqrt(hi_n)))
        cell = self.canvas_size // grid
        if cell < lo_s:
            raise ValueError(
                f'canvas_size={self.canvas_size} is too small for {hi_n} digits of at least '
                f'{lo_s} px: the canvas holds a {grid}x{grid} grid of {cell}-px cells; use '
                f'canvas_size >= {grid * lo_s}, fewer digits_per_image or a smaller digit_size'
            )
        return grid, cell


def compose_canvases(
    split: str, params: CanvasParams, task: str
) -> Tuple[List[Canvas], np.ndarray]:
    """Compose RGB canvases holding several long-tailed, tinted digits each.

    The canvas is divided into a ``g x g`` grid (``g = ceil(sqrt(max digits))``) and each
    digit goes to its own random cell at a random position inside it, so digits never
    overlap. A digit is its 28x28 source cropped to the ink, resized (bilinear) so that its
    longer side is a random integer in ``digit_size`` (capped by the cell), and blended
    with a random ink colour over the image's random background colour (one dark, the other
    light, see :func:`_tint`), plus Gaussian noise. Pixels whose resized ink exceeds
    ``ink_threshold`` belong to the digit (label map value ``1 + digit``; box extent).

    Args:
        split (str): ``'train'`` or ``'val'`` (selects the disjoint source pool).
        params (CanvasParams): The split's parameters.
        task (str): Name mixed into the random stream (``'seg'``, ``'det'``).

    Returns:
        tuple: The list of ``(image, label_map, instances)`` canvases and the per-class
        instance counts.
    """
    grid, cell = params.check(split)
    num_images, canvas_size = params.num_images, params.canvas_size
    ink_threshold, noise_std = params.ink_threshold, params.noise_std
    lo_n, hi_n = params.digits_per_image
    lo_s, hi_s = params.digit_size
    images, labels, _ = load_mnist_digits()
    pools = split_pools(labels, split)
    rng = split_rng(params.seed, split, task)
    per_image, counts = _instance_counts(rng, num_images, (lo_n, hi_n), params.imbalance_ratio)
    sequence = np.repeat(np.arange(NUM_DIGITS), counts)
    rng.shuffle(sequence)
    # cycle through a random permutation of each class's pool: uses are spread evenly
    orders = [rng.permutation(pool) for pool in pools]
    used = np.zeros(NUM_DIGITS, dtype=np.int64)

    canvases: List[Canvas] = []
    start = 0
    for n in per_image:
        digits = sequence[start : start + n]
        start += n
        dark_background = bool(rng.random() < 0.5)
        background = _tint(rng, dark_background)
        img = np.broadcast_to(background, (canvas_size, canvas_size, 3)).copy()
        label_map = np.zeros((canvas_size, canvas_size), dtype=np.uint8)
        instances = []
        cells = rng.choice(grid * grid, size=n, replace=False)
        for digit, cell_id in zip(digits.tolist(), cells.tolist()):
            src = orders[digit][used[digit] % len(orders[digit])]
            used[digit] += 1
            ink = ink_crop(images[src])
            size = int(rng.integers(lo_s, min(hi_s, cell) + 1))
            scale = size / max(ink.shape)
            h = min(cell, max(1, int(round(ink.shape[0] * scale))))
            w = min(cell, max(1, int(round(ink.shape[1] * scale))))
            patch = (
                np.asarray(Image.fromarray(ink).resize((w, h), Image.BILINEAR), dtype=np.float64)
                / 255.0
            )
            y0 = (cell_id // grid) * cell + int(rng.integers(0, cell - h + 1))
            x0 = (cell_id % grid) * cell + int(rng.integers(0, cell - w + 1))
            colour = _tint(rng, not dark_background)
            region = img[y0 : y0 + h, x0 : x0 + w]
            img[y0 : y0 + h, x0 : x0 + w] = (
                region * (1 - patch[..., None]) + colour * patch[..., None]
            )
            mask = patch * 255.0 > ink_threshold
            if not mask.any():  # tiny, faint digit: fall back to any ink
                mask = patch > 0
            label_map[y0 : y0 + h, x0 : x0 + w][mask] = 1 + digit
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            instances.append(
                (
                    int(digit),
                    x0 + int(cols[0]),
                    y0 + int(rows[0]),
                    x0 + int(cols[-1]),
                    y0 + int(rows[-1]),
                )
            )
        if noise_std > 0:
            img = img + rng.normal(0.0, noise_std, size=img.shape)
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        canvases.append((img, label_map, instances))
    return canvases, counts
