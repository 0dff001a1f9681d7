# Stochastic TCE (Algorithm 1) with t = 1 in the per-class reading of L_B: the class weights
# are updated from the CE of the drawn class's own pixels in the batch (recorded by
# mmext.ClassTrackedCrossEntropyLoss, which trains exactly as mmseg's CE), not from the whole
# batch's CE (the documented reading, ./deeplabv3plus_r18-tiny_stce-t1_1xb8-2k_digits-seg.py).
# Everything else, the TiltedClassHook's tunables (tilt, gamma, class_prior) included, is the
# base's; its hook's loss_key is then used by batch_loss='batch' only.
_base_ = ['./deeplabv3plus_r18-tiny_stce-t1_1xb8-2k_digits-seg.py']

model = dict(decode_head=dict(loss_decode=dict(type='mmext.ClassTrackedCrossEntropyLoss')))
custom_hooks = [dict(_base_.custom_hooks[0], batch_loss='class')]
