"""Visually coherent image mixup for object detection (Bag of Freebies, Sec. 3.1).

Two training images are blended pixel-wise with a ratio ``lambda ~ Beta(alpha, beta)``; both are
placed at the top-left corner of a canvas of the larger height x the larger width ("geometry
preserved alignment", Fig. 3), so no image is resized or cropped and every box keeps its
coordinates. The objects of both images are merged and every object receives the blending
ratio of the image it came from as a loss weight (``gt_weights``), which the weighted heads of
:mod:`mmext.models.heads` honour ("weighted loss", Table 1).

Use it inside mmdet's ``MultiImageMixDataset`` (which calls :meth:`CoherentMixUp.get_indexes`
and fills ``results['mix_results']``), or with ``use_cached=True`` directly in a dataset's own
pipeline (the partner comes from a cache of recently loaded samples, no wrapper), and pack with
``mmext.PackDetInputsWithWeights``.
"""

from typing import List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmdet.structures.bbox import BaseBoxes

from mmext.registry import TRANSFORMS
from mmext.structures.instance_weights import num_boxes, read_gt_weights

from .mixup_partners import PartnerCache, draw_other_index, same_image

#: instance-level keys merged by :class:`CoherentMixUp` (besides ``gt_masks``)
_INSTANCE_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags')


def _check_loaded(results: dict, what: str) -> None:
    """Raise a clear error when ``results`` holds no decoded image (``img``).

    Args:
        results (dict): A sample (or the partner sample of ``mix_results``).
        what (str): Which sample it is, for the message.
    """
    if 'img' not in results:
        raise KeyError(
            f'CoherentMixUp needs the loaded image results["img"] (plus the optional '
            f'gt_bboxes, gt_bboxes_labels, gt_ignore_flags, gt_masks of LoadAnnotations) '
            f'in {what}, which has only the keys {sorted(results)}. Usually CoherentMixUp '
            'runs before the loading transforms: put LoadImageFromFile and LoadAnnotations '
            'in the pipeline of the dataset wrapped by MultiImageMixDataset (they load '
            "both images) and CoherentMixUp in MultiImageMixDataset's own pipeline."
        )


@TRANSFORMS.register_module()
class CoherentMixUp(BaseTransform):
    """Visually coherent (geometry preserving) mixup of two detection samples.

    With probability ``prob`` the sample is blended with ``results['mix_results'][0]``:

    .. code:: text

        canvas (max(h1, h2) x max(w1, w2)), zero padded
        +---------------------------+
        | lam*img1 + (1-lam)*img2   |   overlap:   lam * img1 + (1 - lam) * img2
        |            +--------------|   img1 only: lam * img1
        |            | (1-lam)*img2 |   img2 only: (1 - lam) * img2
        |------------+  (or img1)   |   elsewhere: 0
        +---------------------------+

    ``lam ~ Beta(alpha, beta)`` (the paper uses Beta(1.5, 1.5); Table 1 also compares
    Beta(1, 1) and a fixed even 0.5:0.5 mix, set ``ratio=0.5`` for the latter). The boxes,
    labels, ignore flags (and masks) of both images are concatenated, image 1's first; every
    object gets a loss weight ``gt_weights``: ``lam`` for image 1's objects and ``1 - lam`` for
    image 2's ("weighted loss" of Table 1). Weights already present (an earlier mixup) are
    multiplied. When the mix is not applied the image is returned unchanged, with
    ``gt_weights`` (ones unless already present) and ``mixup_ratio = 1.0``, so that every sample
    of a batch carries the same keys.

    Output dtype: the blended image is ``float32`` (values in the input's range, e.g. [0, 255]
    for uint8 inputs, not rounded: GluonCV casts back to uint8, we keep the exact blend). A
    sample that is not mixed keeps its input dtype; mmdet's ``DetDataPreprocessor`` casts every
    image to float anyway.

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32] or np.float32 (N, 4)) (optional)
    - gt_bboxes_labels (np.int64) (optional)
    - gt_ignore_flags (bool) (optional)
    - gt_masks (BitmapMasks | PolygonMasks) (optional, both images or neither)
    - gt_weights (np.float32) (optional, from an earlier mixup)
    - mix_results (List[dict]): one sample with the same keys, filled by
      ``MultiImageMixDataset`` (only without ``use_cached`` and when the mix is applied)
    - sample_idx / img_path / img_id (optional): identify the image, so that it is never
      mixed with itself

    Modified Keys:

    - img (float32 when mixed)
    - img_shape
    - ori_shape (the canvas size, divided by ``scale_factor`` when a resize ran before)
    - pad_shape (when present)
    - gt_bboxes (optional)
    - gt_bboxes_labels (optional)
    - gt_ignore_flags (optional)
    - gt_masks (optional)

    Added Keys:

    - gt_weights (np.float32, shape (N,)): per-object loss weight
    - mixup_ratio (float): the blending ratio ``lam`` of image 1 (1.0 when not mixed)

    Args:
        alpha (float): First shape parameter of the Beta distribution, > 0. Defaults to 1.5
            (Sec. 3.1: "alpha and beta both equal to 1.5").
        beta (float): Second shape parameter, > 0. Defaults to 1.5.
        ratio (float, optional): A fixed blending ratio in [0, 1] used instead of sampling
            (Table 1 "0.5:0.5 evenly" is ``ratio=0.5``). Defaults to None.
        prob (float): Probability of mixing a sample, in [0, 1]. Defaults to 1.0.
        use_cached (bool): Take the partner from a cache of the last ``max_cached_images``
            samples this transform has seen (mmdet ``CachedMixUp``'s idea) instead of
            ``results['mix_results']``, so the transform works in a plain dataset pipeline
            without ``MultiImageMixDataset``. The geometry, ratio and weights are the same.
            The first sample a worker sees has no partner yet and is returned unmixed (with
            ``mixup_ratio = 1.0``). Defaults to False.
        max_cached_images (int): Cache size with ``use_cached``, >= 2. Defaults to 20.
        random_pop (bool): With ``use_cached``, a full cache drops a random entry (True, as
            ``CachedMixUp``) or the oldest. Defaults to True.

    In both modes the partner is never the sample's own image: a cached copy of the same
    image (same ``sample_idx``, else ``img_path`` / ``img_id``) is not drawn, and when
    ``MultiImageMixDataset`` hands the sample itself as partner another index is drawn.
    """

    def __init__(
        self,
        alpha: float = 1.5,
        beta: float = 1.5,
        ratio: Optional[float] = None,
        prob: float = 1.0,
        use_cached: bool = False,
        max_cached_images: int = 20,
        random_pop: bool = True,
    ) -> None:
        if not (alpha > 0 and beta > 0):
            raise ValueError(f'alpha and beta must be > 0, got alpha={alpha}, beta={beta}')
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise ValueError(f'ratio must be in [0, 1], got {ratio}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.ratio = None if ratio is None else float(ratio)
        self.prob = float(prob)
        self.use_cached = bool(use_cached)
        self.max_cached_images = int(max_cached_images)
        self.random_pop = bool(random_pop)
        self._cache = PartnerCache(max_cached_images, random_pop) if use_cached else None
        self._wrapped = None  # the dataset MultiImageMixDataset draws partners from

    def get_indexes(self, dataset: Sequence) -> int:
        """Pick the partner image uniformly at random (as GluonCV's ``MixupDetection``).

        Args:
            dataset (Sequence): The dataset wrapped by ``MultiImageMixDataset``.

        Returns:
            int: Index of the image to mix with.
        """
        self._wrapped = dataset
        return int(np.random.randint(0, len(dataset)))

    def _sample_ratio(self) -> float:
        """Draw ``lam`` (Sec. 3.1): the fixed ``ratio`` or ``Beta(alpha, beta)``."""
        if self.ratio is not None:
            return self.ratio
        return float(np.random.beta(self.alpha, self.beta))

    def transform(self, results: dict) -> dict:
        """Blend ``results`` with ``results['mix_results'][0]``.

        Args:
            results (dict): The sample, with ``mix_results`` holding its partner.

        Returns:
            dict: The mixed sample (see the class docstring for the keys).

        Raises:
            KeyError: When a sample has no ``img`` (the transform runs before the loading
                transforms), naming the required keys and the fix.
        """
        _check_loaded(results, 'the sample')
        if self._cache is not None:
            self._cache.push(results)
        if self.prob < 1.0 and np.random.rand() >= self.prob:
            return self._unmixed(results)
        if self._cache is not None:
            other = self._cache.draw(results)
            if other is None:  # nothing else cached yet
                return self._unmixed(results)
        else:
            mix = results.get('mix_results', None)
            if not mix or len(mix) != 1:
                raise ValueError(
                    'CoherentMixUp needs exactly one partner sample in results["mix_results"]: '
                    'wrap the dataset in mmdet MultiImageMixDataset with CoherentMixUp in its '
                    'pipeline, or use CoherentMixUp(use_cached=True) in a plain pipeline '
                    f'(got {None if mix is None else len(mix)} partners)'
                )
            other = mix[0]
            if same_image(other, results):  # the wrapper drew the sample itself
                other = None if self._wrapped is None else draw_other_index(self._wrapped, results)
                if other is None:
                    return self._unmixed(results)
        results.pop('mix_results', None)
        _check_loaded(other, 'its partner results["mix_results"][0]')
        for key in ('gt_seg_map', 'gt_keypoints'):
            if key in results or key in other:
                raise ValueError(f'CoherentMixUp does not mix "{key}"')
        lam = self._sample_ratio()
        img = self._blend(results['img'], other['img'], lam)
        self._merge_instances(results, other, lam)
        results['img'] = img
        height, width = img.shape[:2]
        results['img_shape'] = (height, width)
        if 'pad_shape' in results:
            results['pad_shape'] = (height, width)
        scale = results.get('scale_factor', None)
        if scale is None:
            results['ori_shape'] = (height, width)
        else:  # scale_factor is (w_scale, h_scale) in mmdet
            results['ori_shape'] = (int(round(height / scale[1])), int(round(width / scale[0])))
        results['mixup_ratio'] = lam
        return results

    @staticmethod
    def _unmixed(results: dict) -> dict:
        """The sample as it is, with the keys of a mixed one (weights, ``mixup_ratio = 1``)."""
        results.pop('mix_results', None)
        results['gt_weights'] = read_gt_weights(results)
        results['mixup_ratio'] = 1.0
        return results

    @staticmethod
    def _blend(img1: np.ndarray, img2: np.ndarray, lam: float) -> np.ndarray:
        """``lam * img1 + (1 - lam) * img2`` on a zero canvas, both at the top-left corner.

        Args:
            img1 (np.ndarray): First image, (H1, W1[, C]).
            img2 (np.ndarray): Second image, (H2, W2[, C]) with the same channels.
            lam (float): Blending ratio of ``img1``.

        Returns:
            np.ndarray: float32 canvas of shape (max(H1, H2), max(W1, W2)[, C]).
        """
        if img1.ndim != img2.ndim or img1.shape[2:] != img2.shape[2:]:
            raise ValueError(
                'CoherentMixUp needs images with the same channels, got '
                f'{img1.shape} and {img2.shape}'
            )
        h1, w1 = img1.shape[:2]
        h2, w2 = img2.shape[:2]
        canvas = np.zeros((max(h1, h2), max(w1, w2)) + img1.shape[2:], dtype=np.float32)
        # float32 scalars keep the products in float32 (NEP 50) and write straight into the
        # canvas views: one pass per image, no resize and no float64 temporaries.
        np.multiply(img1, np.float32(lam), out=canvas[:h1, :w1], casting='unsafe')
        part2 = np.multiply(img2, np.float32(1.0 - lam), dtype=np.float32)
        canvas[:h2, :w2] += part2
        return canvas

    @staticmethod
    def _merge_instances(results: dict, other: dict, lam: float) -> None:
        """Concatenate the objects of ``other`` after those of ``results`` (in place).

        Boxes keep their coordinates (both images sit at the top-left corner); ``gt_weights``
        become ``lam * w1`` and ``(1 - lam) * w2`` (``w`` = ones unless already present).
        """
        n1, n2 = num_boxes(results), num_boxes(other)
        w1, w2 = read_gt_weights(results), read_gt_weights(other)
        for key in _INSTANCE_KEYS:
            if key not in results and key not in other:
                continue
            a, b = results.get(key, None), other.get(key, None)
            if key == 'gt_ignore_flags':
                a = np.zeros(n1, dtype=bool) if a is None else a
                b = np.zeros(n2, dtype=bool) if b is None else b
                results[key] = np.concatenate([a, b], axis=0)
            elif a is None or b is None:
                raise ValueError(f'only one of the two mixed samples has "{key}"')
            elif key == 'gt_bboxes' and (isinstance(a, BaseBoxes) or isinstance(b, BaseBoxes)):
                box_type = type(a) if isinstance(a, BaseBoxes) else type(b)
                a = a if isinstance(a, BaseBoxes) else box_type(a)
                b = b if isinstance(b, BaseBoxes) else box_type(b)
                results[key] = box_type.cat([a, b], dim=0)
            else:
                results[key] = np.concatenate([a, b], axis=0)
        if ('gt_masks' in results) != ('gt_masks' in other):
            raise ValueError('only one of the two mixed samples has "gt_masks"')
        if 'gt_masks' in results:
            m1, m2 = results['gt_masks'], other['gt_masks']
            if type(m1) is not type(m2):
                raise ValueError(f'cannot mix {type(m1).__name__} with {type(m2).__name__}')
            shape = (max(m1.height, m2.height), max(m1.width, m2.width))
            results['gt_masks'] = type(m1).cat([m1.pad(shape), m2.pad(shape)])
        results['gt_weights'] = np.concatenate(
            [w1 * np.float32(lam), w2 * np.float32(1.0 - lam)]
        ).astype(np.float32)

    def __repr__(self) -> str:
        text = (
            f'{self.__class__.__name__}(alpha={self.alpha}, beta={self.beta}, '
            f'ratio={self.ratio}, prob={self.prob}'
        )
        if self.use_cached:
            text += (
                f', use_cached=True, max_cached_images={self.max_cached_images}, '
                f'random_pop={self.random_pop}'
            )
        return text + ')'


@TRANSFORMS.register_module()
class KeepInstanceWeights(BaseTransform):
    """Run transforms that drop or reorder objects while keeping ``gt_weights`` aligned.

    mmdet's box-filtering transforms (``RandomCrop``, ``MinIoURandomCrop``,
    ``FilterAnnotations``, ``RandomAffine``, ...) subset ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags`` and ``gt_masks`` by name and leave unknown keys such as ``gt_weights``
    untouched, which would misalign the mixup weights with the boxes (the pack step then raises).
    GluonCV mixes first and crops afterwards; to keep that order, wrap such transforms:
    ``dict(type='mmext.KeepInstanceWeights', transforms=[dict(type='MinIoURandomCrop')])``.

    The wrapper temporarily replaces ``gt_bboxes_labels`` by the object indices ``0..N-1``,
    runs the transforms, reads which indices survived (in which order) and restores the real
    labels and ``gt_weights`` for exactly those objects. Wrapped transforms must therefore only
    subset / reorder objects (not create new ones) and must not read label values.

    Required Keys:

    - gt_bboxes
    - gt_bboxes_labels (optional)
    - gt_weights (optional; without it the transforms simply run)

    Modified Keys:

    - whatever the wrapped transforms modify
    - gt_bboxes_labels
    - gt_weights

    Args:
        transforms (list[dict | callable]): The wrapped transforms.
    """

    def __init__(self, transforms: List[Union[dict, callable]]) -> None:
        if not isinstance(transforms, (list, tuple)) or len(transforms) == 0:
            raise ValueError('KeepInstanceWeights needs a non-empty list of transforms')
        self.transforms = Compose(list(transforms))

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the wrapped transforms and re-align labels and weights.

        Args:
            results (dict): The sample.

        Returns:
            dict | None: The transformed sample (None when a wrapped transform rejects it).
        """
        if 'gt_weights' not in results:
            return self.transforms(results)
        num = num_boxes(results)
        weights = read_gt_weights(results)
        labels = results.get('gt_bboxes_labels', None)
        results['gt_bboxes_labels'] = np.arange(num, dtype=np.int64)
        results = self.transforms(results)
        if results is None:
            return None
        kept = np.asarray(results['gt_bboxes_labels'], dtype=np.int64)
        if len(kept) != num_boxes(results) or np.any(kept < 0) or np.any(kept >= num):
            raise ValueError(
                'a transform wrapped by KeepInstanceWeights created objects or '
                'changed labels; only subset/reorder transforms can be wrapped'
            )
        if labels is None:
            del results['gt_bboxes_labels']
        else:
            results['gt_bboxes_labels'] = np.asarray(labels)[kept]
        results['gt_weights'] = weights[kept]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms})'
