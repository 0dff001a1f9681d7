# Study arm `CE SGD + BB random-fill cl11` (tools/studies/balance_batch_digits.py):
# CE with Balance-batch by the paper's loading rule (fill='random', at most 8 images, all
# 11 classes) and the paper's optimiser (SGD lr 2.5e-4, momentum 0.9, weight decay 5e-4).
_base_ = ['./deeplabv3plus_r18-tiny_ce_1xb8-sgd-4k_digits-seg-48x48.py']
batch_max = 8
batch_cl = 11
train_dataloader = dict(
    batch_size=batch_max,
    batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=batch_cl, fill='random'),
)
