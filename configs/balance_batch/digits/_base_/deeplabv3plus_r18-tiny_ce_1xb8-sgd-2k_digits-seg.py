# The digits CE setting with the paper's optimiser (Sec. III: SGD, lr 2.5e-4, momentum 0.9,
# weight decay 5e-4) instead of AdamW; same warm-up and poly decay. The one copy of the SGD
# schedule: shared by the CE, Soft Dice and Soft IoU SGD leaves (mmengine forbids keys shared
# by two bases, so the SGD leaves of the other losses set their loss on top of this one).
_base_ = ['./deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']
# --- tunable ---------------------------------------------------------------------------
lr = 2.5e-4
momentum = 0.9
weight_decay = 5e-4
warmup_iters = 100
max_iters = 2000
# ----------------------------------------------------------------------------------------
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=lr, momentum=momentum, weight_decay=weight_decay)
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type='PolyLR',
        eta_min=lr * 1e-2,
        power=0.9,
        begin=warmup_iters,
        end=max_iters,
        by_epoch=False,
    ),
]
