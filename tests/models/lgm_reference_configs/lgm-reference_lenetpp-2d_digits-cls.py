# Parity arm of the ICU digits study (tools/studies/icu_digits.py; the study trains its
# leaves in ./study/, one per setting, on the study's schedule): the softmax digits
# config (same LeNet++, data, optimiser, Gaussian-parameter group) with the test-side head that
# behaves as the public PyTorch L-GM code (tests/models/lgm_reference.py, RefLGMClsHead;
# alpha 1, lambda 0.1: the MNIST values of its train_mnist_LGM.py). Test-side on purpose: it
# imports a module from tests/ (run from the repository root, as tools/train.py does).
_base_ = ['../../../configs/icu_loss/digits/softmax_lenetpp-2d_1xb32-1k_digits-cls.py']

custom_imports = dict(imports=['mmext', 'tests.models.lgm_reference'], allow_failed_imports=False)
model = dict(
    head=dict(
        _delete_=True,
        type='RefLGMClsHead',
        num_classes=10,
        in_channels=2,
        alpha=1.0,
        lambda_lkd=0.1,
    )
)
