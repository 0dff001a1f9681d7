# Digits, ce, mmengine's ClassBalancedDataset (repeat factor sampling, LVIS) on segmentation
# data: mmext.ClassIndexedDataset gives the mmseg dataset the get_cat_ids it lacks
# (mmseg#3104), read from the label maps. Background is not counted as a class.
_base_ = ['./_base_/deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']
oversample_thr = 0.3  # classes in fewer than 30 % of the images are repeated
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=oversample_thr,
        dataset=dict(
            type='mmext.ClassIndexedDataset',
            exclude_classes=('background',),
            dataset=_base_.train_dataloader.dataset,
        ),
    )
)
