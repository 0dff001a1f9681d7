# Demo / baseline: tiny DeepLabV3+ (narrow ResNetV1c-18, OS 8) trained from scratch on the
# offline long-tailed digits segmentation dataset (64x64, train imbalance ratio 10,
# balanced val), mmseg IoUMetric. The dataset is built under ./data/digits_seg on first use.
_base_ = [
    '../_base_/models/tiny_deeplabv3plus_digits.py',
    '../_base_/datasets/digits_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/digits_seg_2k.py',
]
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
randomness = dict(seed=0)
