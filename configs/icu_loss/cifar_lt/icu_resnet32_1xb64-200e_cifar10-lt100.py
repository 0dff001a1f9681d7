# ICU loss (Zhu & Yu), Table 2 "CIFAR-10-LT", imbalance ratio 100, row ICU: the CIFAR-100-LT
# config (ResNet-32, 64-d feature, long-tailed training split via mmext.LongTailSubset,
# balanced test split, the authors' long-tail optimiser and schedule) on CIFAR-10; the
# data settings below are those of mmpretrain's _base_/datasets/cifar10_bs16.py.
_base_ = ['./icu_resnet32_1xb64-200e_cifar100-lt100.py']

dataset_type = 'CIFAR10'
data_preprocessor = dict(
    num_classes=10,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
)

model = dict(head=dict(num_classes=10))

train_dataloader = dict(dataset=dict(dataset=dict(type=dataset_type, data_root='data/cifar10')))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root='data/cifar10/'))
test_dataloader = val_dataloader
