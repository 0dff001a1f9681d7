# Study arm `Stochastic TCE per-class L_B t=0.1` (tools/studies/tce_digits.py):
# Stochastic TCE with t = 0.1 in the per-class reading of L_B: the per-class t = 1 arm with
# the hook's tilt lowered (its variable tilt stays 1.0, as in the config this arm trained;
# see ./_base_/ for the double-underscore names).
_base_ = ['./deeplabv3plus_r18-tiny_stce-cls-t1_1xb8-16k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
__tilt = 0.1
# ----------------------------------------------------------------------------------------
custom_hooks = [dict(_base_.custom_hooks[0], tilt=__tilt)]
