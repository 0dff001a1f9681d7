# Bag of Freebies, Table 2 "- data augmentation": the baseline without the geometric (random
# expansion, constrained random crop, random flip) and colour (photometric distortion)
# augmentations of section 3.3; images are only resized to 416 x 416.
_base_ = './yolov3_d53_baseline_8xb8-200e_voc0712.py'

train_pipeline = [
    dict(type='Resize', scale=_base_.input_size, keep_ratio=False),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
