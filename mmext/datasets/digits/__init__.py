"""The offline long-tailed digits datasets: builders, on-disk store and dataset classes."""

from .builders import SEG_CLASSES, build_digits_cls, build_digits_det, build_digits_seg
from .common import DIGIT_NAMES
from .datasets import DigitsClsDataset, DigitsCocoDataset, DigitsSegDataset

__all__ = [
    'DigitsClsDataset',
    'DigitsCocoDataset',
    'DigitsSegDataset',
    'SEG_CLASSES',
    'DIGIT_NAMES',
    'build_digits_cls',
    'build_digits_det',
    'build_digits_seg',
]
