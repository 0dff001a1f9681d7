# Bag of Freebies, Table 3 "+ mixup" (section 3.1): visually coherent mixup, lambda ~
# Beta(1.5, 1.5), with the per-object weighted loss in the R-CNN stage
# (mmext.WeightedStandardRoIHead). The VOC images are loaded by the VOC datasets, mixed by the
# MultiImageMixDataset wrapper, then resized and flipped.
_base_ = './faster-rcnn_r50-fpn_cos-ls_8xb2-1x_voc0712.py'

mixup_alpha = 1.5
mixup_beta = 1.5

load_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
]
train_pipeline = [
    dict(type='mmext.CoherentMixUp', alpha=mixup_alpha, beta=mixup_beta),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmext.PackDetInputsWithWeights'),
]
_voc = _base_.train_dataloader.dataset.dataset
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            _delete_=True,
            type='MultiImageMixDataset',
            dataset=dict(
                type='ConcatDataset',
                ignore_keys=_voc.ignore_keys,
                datasets=[dict(voc, pipeline=load_pipeline) for voc in _voc.datasets],
            ),
            pipeline=train_pipeline,
        )
    )
)
del _voc
model = dict(roi_head=dict(type='mmext.WeightedStandardRoIHead'))
