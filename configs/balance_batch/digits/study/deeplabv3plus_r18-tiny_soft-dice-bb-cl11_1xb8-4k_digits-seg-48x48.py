# Study arm `Soft Dice + BB cl11` (tools/studies/balance_batch_digits.py):
# Soft Dice with Balance-batch (mmext.BalanceBatchSampler, fill='greedy'): at most 8
# images, a batch closes once it holds all 11 classes (background counted).
_base_ = ['./deeplabv3plus_r18-tiny_soft-dice_1xb8-4k_digits-seg-48x48.py']
batch_max = 8
batch_cl = 11
train_dataloader = dict(
    batch_size=batch_max, batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=batch_cl)
)
