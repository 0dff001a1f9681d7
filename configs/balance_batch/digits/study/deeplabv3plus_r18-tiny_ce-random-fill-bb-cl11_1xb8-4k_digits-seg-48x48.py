# Study arm `CE + BB random-fill cl11` (tools/studies/balance_batch_digits.py):
# CE with Balance-batch loaded by the paper's rule (Sec. II.C, Algorithm 1): random images
# while the batch stays within batch_cl classes, a draw that breaks the rule discarded and
# reselected (fill='random'); at most 8 images, all 11 classes.
_base_ = ['./deeplabv3plus_r18-tiny_ce-bb-cl11_1xb8-4k_digits-seg-48x48.py']
fill = 'random'
train_dataloader = dict(batch_sampler=dict(fill=fill))
