# Study arm `Soft Dice + BB cl6` (tools/studies/balance_batch_digits.py):
# Soft Dice with Balance-batch, at most 8 images, a batch closes once it holds 6 classes:
# the cl11 arm with the sampler's batch_cl lowered (its variable batch_cl stays 11, as in
# the config this arm trained; see ./_base_/ for the double-underscore names).
_base_ = ['./deeplabv3plus_r18-tiny_soft-dice-bb-cl11_1xb8-4k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
__batch_cl = 6
# ----------------------------------------------------------------------------------------
train_dataloader = dict(batch_sampler=dict(batch_cl=__batch_cl))
