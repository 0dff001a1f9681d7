# Study arm `TCE class t=0` (tools/studies/tce_digits.py):
# Class-level TCE (Eq. 3) at its limit t = 0, a per-image class-balanced CE: isolates the
# tilt of the class-level arm from its per-class averaging. The t = 1 arm with the loss's
# tilt set to 0 (its variable tilt stays 1.0, as in the config this arm trained; see
# ./_base_/ for the double-underscore names).
_base_ = ['./deeplabv3plus_r18-tiny_tce-cls-t1_1xb8-16k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
__tilt = 0.0
# ----------------------------------------------------------------------------------------
model = dict(decode_head=dict(loss_decode=dict(tilt=__tilt)))
