# Study arm `ICU authors code 100-D balanced` (tools/studies/icu_digits.py):
# The ICU authors' released classifier's behaviour (test-side head
# RefICUAuthorsClsHead of tests/models/lgm_reference.py: logits linear in x, 1/4 log-det,
# per-sample regulariser, alpha 0, beta 1e-4): not the paper's ICU, a reference arm.
# Test-side, as the reference arms' configs (../): it imports a module from tests/,
# which the package does not ship (run from the repository root, as tools/train.py does).
_base_ = [
    '../../../../configs/icu_loss/digits/study/_base_/'
    'icu_lenetpp-100d_1xb64-1200it_digits-cls-lt1.py'
]

custom_imports = dict(imports=['mmext', 'tests.models.lgm_reference'], allow_failed_imports=False)
model = dict(
    head=dict(
        _delete_=True,
        type='RefICUAuthorsClsHead',
        num_classes=10,
        in_channels=_base_.model.head.in_channels,
        alpha=0.0,
        beta=1e-4,
        reg_weight=0.1,
    )
)
