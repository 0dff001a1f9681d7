# Balance-batch digits study (tools/studies/balance_batch_digits.py): the data and schedule
# every arm trains, on the digits CE setting (tiny DeepLabV3+, GroupNorm in the ASPP head,
# no auxiliary head, AdamW lr 2e-3, 100-iteration warm-up then poly decay). Two things
# differ from the digits configs, both fixed before the study ran, for convergence within
# the CPU budget (pilots: tools/studies/settings/digits_seg.py): 48x48 canvases with digits
# of 15-24 px (64x64 and 20-32 px there; same counts, imbalance and splits, built under
# data/digits_seg48) and 4,000 iterations (2,000 there), validated at 4 points; no
# visualisation hook drawing, data loaded in the main process (2 CPU cores).
#
# The study's variables have two leading underscores: mmengine leaves such names out of the
# resolved config, so every study leaf resolves to exactly the config its arm trained when
# the study spelled these settings as --cfg-options (the run cache's key, a digest of the
# resolved config). For the same reason the variables inherited from the digits configs
# (max_iters, val_interval, canvas_size, data_root, build_cfg, crop_size) and
# test_dataloader keep their 2,000-iteration / 64x64 values: they are not read again once
# the bases are merged; what trains is set in the fields below.
_base_ = ['../../_base_/deeplabv3plus_r18-tiny_ce_1xb8-2k_digits-seg.py']

# --- tunable ---------------------------------------------------------------------------
__canvas = 48
__digit_size = (15, 24)
__data_root = 'data/digits_seg48'
__iters = 4000
__val_points = 4
# ----------------------------------------------------------------------------------------

model = dict(data_preprocessor=dict(size=(__canvas, __canvas)))
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=__data_root, build_cfg=dict(canvas_size=__canvas, digit_size=__digit_size)
    ),
)
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=__data_root, build_cfg=dict(canvas_size=__canvas, digit_size=__digit_size)
    ),
)
train_cfg = dict(max_iters=__iters, val_interval=__iters // __val_points)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=__iters)]
default_hooks = dict(
    checkpoint=dict(interval=__iters), logger=dict(interval=100), visualization=dict(draw=False)
)
