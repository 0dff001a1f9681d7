# Bag of Freebies Table 2 "+ cosine lr schedule" on the digits (stacked): random shapes and
# the step decay replaced by cosine annealing after the same linear warm-up (Sec. 3.4).
_base_ = './yolov3_r18-tiny_aug-rs_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
max_epochs = 8  # must equal the base's max_epochs
warmup_epochs = 1
# ----------------------------------------------------------------------------------------

param_scheduler = [
    dict(
        type='mmext.WarmupCosineLR',
        warmup=warmup_epochs,
        begin=0,
        end=max_epochs,
        warmup_start_factor=0.01,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True,
    )
]
