# Bag of Freebies, Table 3 "- data augmentation": the baseline without its only augmentation,
# the random horizontal flip (section 4: "training images have chances of 0.5 to flip").
_base_ = './faster-rcnn_r50-fpn_baseline_8xb2-1x_voc0712.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
# VOC2007 and VOC2012 trainval with the new pipeline (a list is replaced as a whole)
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            datasets=[
                dict(voc, pipeline=train_pipeline)
                for voc in _base_.train_dataloader.dataset.dataset.datasets
            ]
        )
    )
)
