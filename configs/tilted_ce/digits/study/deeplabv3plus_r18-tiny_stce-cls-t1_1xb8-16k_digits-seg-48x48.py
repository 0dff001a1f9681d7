# Study arm `Stochastic TCE per-class L_B t=1` (tools/studies/tce_digits.py):
# Stochastic TCE (Algorithm 1) with t = 1 in the per-class reading of L_B: the class weights
# are updated from the CE of the drawn class's own pixels (mmext.ClassTrackedCrossEntropyLoss,
# which trains exactly as mmseg's CE; batch_loss='class'); background never drawn.
_base_ = ['./deeplabv3plus_r18-tiny_stce-t1_1xb8-16k_digits-seg-48x48.py']

model = dict(decode_head=dict(loss_decode=dict(type='mmext.ClassTrackedCrossEntropyLoss')))
custom_hooks = [dict(_base_.custom_hooks[0], batch_loss='class')]
