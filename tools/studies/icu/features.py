"""The ICU digits study's Fig. 2 style figure: the 2-D features of trained runs.

:func:`features` runs a finished run's final checkpoint over its train and val splits (the
2-D LeNet++ features, and the Gaussian head's means and variances); :func:`plot_features`
draws softmax, L-GM and ICU side by side (2-D balanced, the first seed).
"""

import os
import os.path as osp
from typing import Sequence

import numpy as np

from tools import REPO
from tools.studies.harness import Study, Variant, load_config
from tools.studies.icu.settings import QUICK


def features(run: dict, variant: Variant, study: Study, quick: bool) -> dict:
    """2-D features of the train and val splits from a run's final checkpoint.

    Args:
        run (dict): The finished run (its ``run_dir``, relative to the repository, holds the
            checkpoints; the newest is read).
        variant (Variant): The run's arm (its leaf config).
        study (Study): The study.
        quick (bool): Whether the run was a ``--quick`` one (its options added).

    Returns:
        dict: ``split -> (features (N, 2), labels (N,))`` for ``train`` and ``val``, and the
        Gaussian head's ``means`` and ``variances`` when the head has them.
    """
    import glob

    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS

    options = list(QUICK) if quick else []  # the arm's leaf config is what it trained
    cfg = load_config(variant.config, options)
    init_default_scope('mmpretrain')
    run_dir = osp.join(REPO, run['run_dir'])
    ckpts = sorted(glob.glob(osp.join(run_dir, '*.pth')), key=osp.getmtime)
    model_cfg = cfg.model.copy()
    # the Runner merges the top-level data_preprocessor (normalisation) into the model
    if 'data_preprocessor' in cfg and 'data_preprocessor' not in model_cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg)
    state = torch.load(ckpts[-1], map_location='cpu', weights_only=False)['state_dict']
    model.load_state_dict(state)
    model.eval()
    out = {}
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        for split in ('train', 'val'):
            ds_cfg = cfg[f'{split}_dataloader'].dataset.copy()
            ds_cfg.pipeline = cfg.test_dataloader.dataset.pipeline
            dataset = DATASETS.build(ds_cfg)
            feats, labels = [], []
            with torch.no_grad():
                for start in range(0, len(dataset), 256):
                    batch = pseudo_collate(
                        [dataset[i] for i in range(start, min(start + 256, len(dataset)))]
                    )
                    data = model.data_preprocessor(batch, False)
                    feat = model.extract_feat(data['inputs'])
                    feats.append(feat[-1] if isinstance(feat, (tuple, list)) else feat)
                    labels += [int(s.gt_label) for s in data['data_samples']]
            out[split] = (torch.cat(feats).numpy(), np.array(labels))
    finally:
        os.chdir(cwd)
    head = model.head
    if hasattr(head, 'classifier'):
        out['means'] = head.classifier.means.detach().numpy()
        out['variances'] = head.classifier.variances().detach().numpy()
    return out


def plot_features(study: Study, runs: Sequence[dict], path: str, quick: bool) -> str:
    """Fig. 2 style figure of softmax, L-GM and ICU (2-D balanced, the first seed).

    Args:
        study (Study): The study.
        runs (Sequence[dict]): The finished runs.
        path (str): Where to write the PNG.
        quick (bool): Whether the runs are ``--quick`` ones.

    Returns:
        str: A markdown line: the figure, or why it is missing.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    methods = ('softmax', 'L-GM', 'ICU')
    picked = {}
    for r in runs:
        for m in methods:
            if r['variant'] == f'{m} 2-D balanced' and r['seed'] == min(study.seeds):
                picked[m] = r
    if len(picked) < len(methods):
        return '(features figure skipped: a 2-D balanced run of seed 0 is missing)'
    fig, axes = plt.subplots(2, 3, figsize=(15, 10))
    colors = plt.get_cmap('tab10').colors
    for col, m in enumerate(methods):
        run = picked[m]
        data = features(run, study.variant(run['variant']), study, quick)
        acc = run['final'].get('accuracy/top1', float('nan'))
        for row, split in enumerate(('train', 'val')):
            ax = axes[row, col]
            feats, labels = data[split]
            for k in range(10):
                sel = labels == k
                ax.scatter(feats[sel, 0], feats[sel, 1], s=3, color=colors[k], label=str(k))
            if 'means' in data:
                for k in range(10):
                    for n_std, ls in ((1, '-'), (2, ':')):
                        w, h = 2 * n_std * np.sqrt(data['variances'][k])
                        ax.add_patch(
                            Ellipse(
                                data['means'][k], w, h, fill=False, color=colors[k], lw=1, ls=ls
                            )
                        )
            ax.set_title(f'{m}, {split} features (val acc {acc:.1f} %)')
            ax.set_aspect('equal', 'datalim')
    axes[0, 0].legend(markerscale=4, fontsize=8, loc='best')
    fig.suptitle(
        '2-D LeNet++ features, balanced digits, seed 0 (Fig. 2 style); Gaussian '
        'heads: 1-sigma (solid) / 2-sigma (dotted) ellipses'
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f'![features]({osp.basename(path)})'
