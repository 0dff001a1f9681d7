"""The first run of the ICU digits study, kept for the report's "What moved" section.

Commit e1edb91 (``docs/results/icu_digits.json`` there), confounded by mmengine's Kaiming
init of LeNet++, the Gaussian parameters at the network's lr and the CIFAR-100 L-GM values
(alpha 0.1, lambda 0.01): every claim's paired difference and verdict and every arm's final
val accuracy, as published then.
"""

#: The first run (commit e1edb91, ``docs/results/icu_digits.json`` there; confounded by the
#: Kaiming init, the shared lr and the CIFAR-100 L-GM values): claim -> (mean paired Δ,
#: 95 % CI low, high, verdict) and arm -> (mean, std) of the final val accuracy (%).
PREVIOUS_CLAIMS = {
    'Table 1 (MNIST 2-D): ICU beats softmax': (-49.87, -71.55, -28.18, 'not reproduced'),
    'Table 1 (MNIST 2-D): ICU beats L-GM': (-41.50, -59.39, -23.61, 'not reproduced'),
    'Table 1 (MNIST 2-D): L-GM beats softmax': (-8.37, -15.18, -1.55, 'not reproduced'),
    'Table 1 (MNIST 100-D): ICU beats softmax': (-0.80, -2.68, 1.08, 'inconclusive'),
    'Table 2: ICU beats L-GM on long-tailed data (ratio 100)': (
        -31.77,
        -34.68,
        -28.86,
        'not reproduced',
    ),
    'Table 2: ICU beats softmax on long-tailed data (ratio 100)': (
        -36.47,
        -38.81,
        -34.12,
        'not reproduced',
    ),
    'Table 2: ICU beats L-GM on long-tailed data (ratio 10)': (
        -34.90,
        -48.09,
        -21.71,
        'not reproduced',
    ),
    'Table 2: ICU beats softmax on long-tailed data (100-D, ratio 100)': (
        -4.13,
        -11.30,
        3.04,
        'inconclusive',
    ),
    'ICU raises few-shot accuracy over softmax (ratio 100)': (-15.33, -33.36, 2.69, 'inconclusive'),
    'Table 3: the inter-class margin alpha helps (2-D balanced)': (
        0.30,
        -0.69,
        1.29,
        'inconclusive',
    ),
    'Table 3: the intra-class margin gamma helps (2-D balanced)': (
        0.20,
        -0.79,
        1.19,
        'inconclusive',
    ),
    'Table 3: the Eq. 14 regulariser helps (2-D balanced)': (
        -46.23,
        -65.49,
        -26.97,
        'not reproduced',
    ),
    'Table 3: the inter-class margin alpha helps (2-D LT100)': (0.23, -0.91, 1.38, 'inconclusive'),
    'Table 3: the intra-class margin gamma helps (2-D LT100)': (0.30, -0.45, 1.05, 'inconclusive'),
    'Table 3: the Eq. 14 regulariser helps (2-D LT100)': (-34.73, -39.76, -29.71, 'not reproduced'),
    'post hoc: ICU with Eq. 14 on the parameters only beats softmax (2-D balanced)': (
        -10.20,
        -22.19,
        1.79,
        'inconclusive',
    ),
    'post hoc: ICU with Eq. 14 on the parameters only beats the default ICU (2-D balanced)': (
        39.67,
        10.89,
        68.44,
        'reproduced',
    ),
    'post hoc: ICU with Eq. 14 on the parameters only beats L-GM (2-D balanced)': (
        -1.83,
        -12.96,
        9.29,
        'inconclusive',
    ),
    'post hoc: ICU with Eq. 14 on the parameters only beats softmax (2-D LT100)': (
        -4.13,
        -7.70,
        -0.57,
        'not reproduced',
    ),
    'post hoc: ICU with Eq. 14 on the parameters only beats L-GM (2-D LT100)': (
        0.57,
        -7.16,
        8.29,
        'inconclusive',
    ),
    'post hoc: ICU with Eq. 14 on the parameters only beats softmax (100-D balanced)': (
        -0.63,
        -2.23,
        0.96,
        'inconclusive',
    ),
    'post hoc: ICU with Eq. 14 on the parameters only beats softmax (100-D LT100)': (
        -4.10,
        -8.58,
        0.38,
        'inconclusive',
    ),
}
PREVIOUS_ACC = {
    'softmax 2-D balanced': (96.13, 1.08),
    'L-GM 2-D balanced': (87.77, 2.70),
    'ICU 2-D balanced': (46.27, 7.80),
    'ICU no alpha 2-D balanced': (45.97, 7.57),
    'ICU no gamma 2-D balanced': (46.07, 7.57),
    'ICU no reg 2-D balanced': (92.50, 1.15),
    'ICU params-only reg 2-D balanced': (85.93, 5.72),
    'softmax 2-D LT100': (66.40, 0.70),
    'L-GM 2-D LT100': (61.70, 1.42),
    'ICU 2-D LT100': (29.93, 0.25),
    'ICU no alpha 2-D LT100': (29.70, 0.50),
    'ICU no gamma 2-D LT100': (29.63, 0.46),
    'ICU no reg 2-D LT100': (64.67, 2.24),
    'ICU params-only reg 2-D LT100': (62.27, 1.87),
    'softmax 2-D LT10': (94.90, 0.62),
    'L-GM 2-D LT10': (81.27, 1.94),
    'ICU 2-D LT10': (46.37, 6.54),
    'softmax 100-D balanced': (98.33, 0.21),
    'L-GM 100-D balanced': (97.63, 0.59),
    'ICU 100-D balanced': (97.53, 0.57),
    'ICU params-only reg 100-D balanced': (97.70, 0.46),
    'softmax 100-D LT100': (90.40, 1.39),
    'L-GM 100-D LT100': (87.53, 1.11),
    'ICU 100-D LT100': (86.27, 1.50),
    'ICU params-only reg 100-D LT100': (86.30, 1.35),
}
