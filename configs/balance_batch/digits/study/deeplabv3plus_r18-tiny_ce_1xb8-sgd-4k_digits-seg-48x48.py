# Study arm `CE SGD` (tools/studies/balance_batch_digits.py):
# The baseline with the paper's optimiser (Sec. III: SGD, lr 2.5e-4, momentum 0.9, weight
# decay 5e-4) instead of AdamW; same warm-up, poly decay and 4,000 iterations. The one
# copy of the SGD block: the Soft Dice / Soft IoU SGD arms set their loss on top of this
# one.
_base_ = ['./deeplabv3plus_r18-tiny_ce_1xb8-4k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
lr = 2.5e-4
momentum = 0.9
weight_decay = 5e-4
# ----------------------------------------------------------------------------------------
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=lr, momentum=momentum, weight_decay=weight_decay)
)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], eta_min=lr * 1e-2),
]
