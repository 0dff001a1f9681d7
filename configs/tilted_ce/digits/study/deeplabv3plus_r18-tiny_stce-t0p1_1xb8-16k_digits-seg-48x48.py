# Study arm `Stochastic TCE t=0.1` (tools/studies/tce_digits.py):
# Stochastic TCE (Algorithm 1) with t = 0.1, L_B the whole batch's CE: the t = 1 arm with
# the hook's tilt lowered (its variable tilt stays 1.0, as in the config this arm trained;
# see ./_base_/ for the double-underscore names).
_base_ = ['./deeplabv3plus_r18-tiny_stce-t1_1xb8-16k_digits-seg-48x48.py']
# --- tunable ---------------------------------------------------------------------------
__tilt = 0.1
# ----------------------------------------------------------------------------------------
custom_hooks = [dict(_base_.custom_hooks[0], tilt=__tilt)]
