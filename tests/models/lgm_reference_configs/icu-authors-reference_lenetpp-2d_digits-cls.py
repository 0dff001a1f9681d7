# Reference arm of the ICU digits study (tools/studies/icu_digits.py; the study trains its
# leaves in ./study/, one per setting, on the study's schedule): the softmax digits
# config (same LeNet++, data, optimiser, Gaussian-parameter group) with the test-side head that
# behaves as the ICU authors' released classifier (tests/models/lgm_reference.py,
# RefICUAuthorsClsHead: logits linear in x, 1/4 log-det, per-sample regulariser, alpha 0,
# beta 1e-4), which is not the paper's ICU. Test-side on purpose: it imports a module from
# tests/ (run from the repository root, as tools/train.py does).
_base_ = ['../../../configs/icu_loss/digits/softmax_lenetpp-2d_1xb32-1k_digits-cls.py']

custom_imports = dict(imports=['mmext', 'tests.models.lgm_reference'], allow_failed_imports=False)
model = dict(
    head=dict(
        _delete_=True,
        type='RefICUAuthorsClsHead',
        num_classes=10,
        in_channels=2,
        alpha=0.0,
        beta=1e-4,
        reg_weight=0.1,
    )
)
