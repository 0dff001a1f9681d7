# Study arm `CE` (tools/studies/tce_digits.py):
# The baseline, the MCCE of the TCE paper (Eq. 1): plain cross-entropy, random batches of 8.
_base_ = ['./_base_/deeplabv3plus_r18-tiny_mcce_1xb8-16k_digits-seg-48x48.py']
