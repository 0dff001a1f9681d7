# Study arm `Soft IoU per-image` (tools/studies/balance_batch_digits.py):
# Soft IoU read per image (Eq. 6: the ratio per image, averaged over the images) instead
# of on the whole batch (Algorithm 1); random batches of 8 images.
_base_ = ['./deeplabv3plus_r18-tiny_soft-iou_1xb8-4k_digits-seg-48x48.py']
model = dict(decode_head=dict(loss_decode=dict(per_image=True)))
