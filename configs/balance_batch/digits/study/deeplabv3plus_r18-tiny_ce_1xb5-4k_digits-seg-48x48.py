# Study arm `CE batch 5` (tools/studies/balance_batch_digits.py):
# The image-matched control of Balance-batch cl11: CE, random batches of 5 images, the
# rounded mean batch size of that arm (so both see as many images in as many iterations;
# CONTROL_BATCH in the study file).
_base_ = ['./deeplabv3plus_r18-tiny_ce_1xb8-4k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
__batch_size = 5
# ----------------------------------------------------------------------------------------
train_dataloader = dict(batch_size=__batch_size)
