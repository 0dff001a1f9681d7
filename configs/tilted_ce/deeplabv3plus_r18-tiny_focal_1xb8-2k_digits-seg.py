# Offline counterpart of the "Focal loss" row (TCE paper, Tables 1/3): the digits MCCE config
# with the sigmoid focal loss, gamma = 2 and alpha = the normalised inverse class pixel
# frequency of the digits train split (Sec. 3). It uses mmext.SegFocalLoss, not mmseg's
# FocalLoss(use_sigmoid=True): mmseg 1.2.2's CPU branch one-hot encodes the labels and keeps
# the column [:, num_classes] instead of [:, :num_classes], so it fails on CPU with a shape
# error; SegFocalLoss computes the maths and normalisation of mmseg's CUDA path on any device.
# Compute alpha once (from the directory you train from; tools/experiments/tce_digits.py does
# it for its runs) with
#   python tools/analysis/class_pixel_frequency.py configs/tilted_ce/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py \
#       --out data/digits_seg/class_pixel_frequency.json
# Without that file this config raises FileNotFoundError when it is loaded (no silent
# fallback); or set `focal_alpha` below to a float or a list of 11 floats explicitly.
_base_ = ['./deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
focal_gamma = 2.0
focal_alpha_file = 'data/digits_seg/class_pixel_frequency.json'
focal_alpha = None  # None: read `focal_alpha` from focal_alpha_file (required)
# ----------------------------------------------------------------------------------------

# __import__ rather than `import`: see the Cityscapes Focal config.
json = __import__('json')
osp = __import__('os.path').path
if focal_alpha is None:
    if not osp.isfile(focal_alpha_file):
        raise FileNotFoundError(
            f'{osp.abspath(focal_alpha_file)} not found: the Focal-loss alpha of the TCE '
            'paper is computed by `python tools/analysis/class_pixel_frequency.py '
            'configs/tilted_ce/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py '
            '--out data/digits_seg/class_pixel_frequency.json` '
            '(run from the directory you train from), or set focal_alpha in this config '
            'explicitly')
    with open(focal_alpha_file) as _f:
        focal_alpha = [float(a) for a in json.load(_f)['focal_alpha']]
    del _f
if isinstance(focal_alpha, (list, tuple)) and len(focal_alpha) != 11:
    raise ValueError(f'focal_alpha has {len(focal_alpha)} entries, the digits data has 11 '
                     'classes')

model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True,
            type='mmext.SegFocalLoss',
            gamma=focal_gamma,
            alpha=focal_alpha,
            loss_weight=1.0)))
