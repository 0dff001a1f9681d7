# Study arm `Soft Dice SGD` (tools/studies/balance_batch_digits.py):
# Soft Dice with the paper's optimiser (SGD, lr 2.5e-4, momentum 0.9, weight decay 5e-4):
# the CE SGD arm with the loss of the Soft Dice arm.
_base_ = ['./deeplabv3plus_r18-tiny_ce_1xb8-sgd-4k_digits-seg-48x48.py']

model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, type='mmext.SoftDiceLoss', loss_weight=1.0))
)
