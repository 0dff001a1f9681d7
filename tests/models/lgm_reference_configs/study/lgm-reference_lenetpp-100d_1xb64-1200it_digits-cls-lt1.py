# Study arm `L-GM reference 100-D balanced` (tools/studies/icu_digits.py):
# The public PyTorch L-GM code's behaviour (test-side head RefLGMClsHead of
# tests/models/lgm_reference.py; alpha 1, lambda 0.1), the parity target of the L-GM arm.
# Test-side, as the reference arms' configs (../): it imports a module from tests/,
# which the package does not ship (run from the repository root, as tools/train.py does).
_base_ = [
    '../../../../configs/icu_loss/digits/study/_base_/'
    'icu_lenetpp-100d_1xb64-1200it_digits-cls-lt1.py'
]

# --- tunable ---------------------------------------------------------------------------
__alpha = 1.0
__lambda_lkd = 0.1
# ----------------------------------------------------------------------------------------
custom_imports = dict(imports=['mmext', 'tests.models.lgm_reference'], allow_failed_imports=False)
model = dict(
    head=dict(
        _delete_=True,
        type='RefLGMClsHead',
        num_classes=10,
        in_channels=_base_.model.head.in_channels,
        alpha=__alpha,
        lambda_lkd=__lambda_lkd,
    )
)
