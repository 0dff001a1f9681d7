# Bag of Freebies Tables 5/6 on the digits: the backbone pre-training of
# ./resnet18-tiny_1xb32-1k_digits-cls.py with (image-classification) mixup, alpha = 0.2 as in
# "Bag of Tricks for Image Classification" (soft targets, CrossEntropyLoss(use_soft=True)).
_base_ = './resnet18-tiny_1xb32-1k_digits-cls.py'

mixup_alpha = 0.2

model = dict(
    head=dict(loss=dict(use_soft=True)),  # mixed one-hot targets
    train_cfg=dict(augments=dict(type='Mixup', alpha=mixup_alpha)),
)
