# TCE paper, Table 1/3 row "Focal loss": the MCCE config with mmseg's (sigmoid) FocalLoss,
# gamma = 2 and alpha = the normalised inverse class pixel frequency of the training set
# (Sec. 3). Compute alpha once with
#   python tools/analysis/class_pixel_frequency.py configs/tilted_ce/deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py \
#       --out data/cityscapes/class_pixel_frequency.json
# (the path is relative to the working directory, like mmseg's data_root). Without that file
# this config raises FileNotFoundError when it is loaded: there is no silent fallback. To
# train with another alpha on purpose, set `focal_alpha` below to a float or a list of
# 19 floats (that is not the paper's setting). mmseg's FocalLoss uses mmcv's CUDA op on GPU;
# its CPU fallback is not meant for training.
# On CPU, use type='mmext.SegFocalLoss' (same maths, no use_sigmoid) instead.
_base_ = ['./deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)

# --- tunable ---------------------------------------------------------------------------
focal_gamma = 2.0
focal_alpha_file = 'data/cityscapes/class_pixel_frequency.json'
focal_alpha = None  # None: read `focal_alpha` from focal_alpha_file (required)
# ----------------------------------------------------------------------------------------

# __import__ rather than `import`: mmengine treats a config with import statements of
# non-builtin modules as a lazy-import config, and whether json/os count as builtin depends
# on where the interpreter and its virtualenv live. Module objects are dropped from the cfg.
json = __import__('json')
osp = __import__('os.path').path
if focal_alpha is None:
    if not osp.isfile(focal_alpha_file):
        raise FileNotFoundError(
            f'{osp.abspath(focal_alpha_file)} not found: the Focal-loss alpha of the TCE '
            'paper is computed by `python tools/analysis/class_pixel_frequency.py '
            'configs/tilted_ce/deeplabv3plus_r101-d8_mcce_4xb2-80k_cityscapes-512x1024.py '
            '--out data/cityscapes/class_pixel_frequency.json` '
            '(run from the directory you train from), or set focal_alpha in this config '
            'explicitly')
    with open(focal_alpha_file) as _f:
        focal_alpha = [float(a) for a in json.load(_f)['focal_alpha']]
    del _f
if isinstance(focal_alpha, (list, tuple)) and len(focal_alpha) != 19:
    raise ValueError(f'focal_alpha has {len(focal_alpha)} entries, cityscapes has 19 classes')

model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True,
            type='FocalLoss',
            use_sigmoid=True,
            gamma=focal_gamma,
            alpha=focal_alpha,
            loss_weight=1.0)))
