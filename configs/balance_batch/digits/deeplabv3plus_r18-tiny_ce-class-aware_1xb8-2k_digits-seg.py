# Digits, ce, mmdet's ClassAwareSampler (draw a class uniformly, then an image holding it) on
# segmentation data: mmext.ClassIndexedDataset gives the mmseg dataset the get_cat_ids it
# lacks (mmseg#3104), read from the label maps. Background is not counted as a class.
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']
num_sample_class = 1  # images drawn per drawn class
train_dataloader = dict(
    sampler=dict(_delete_=True, type='mmdet.ClassAwareSampler', num_sample_class=num_sample_class),
    dataset=dict(
        _delete_=True,
        type='mmext.ClassIndexedDataset',
        exclude_classes=('background',),
        dataset=_base_.train_dataloader.dataset,
    ),
)
