# ICU digits study (tools/studies/icu_digits.py): the setting `2-D balanced` of its grid,
# a 2-D feature on the balanced train split of the real MNIST digits
# (train floor(400 * ratio^(-k/9)) images of digit k, balanced val of 100 per digit from a
# disjoint pool; built under data/digits_cls_icu_lt1 on first use), the shot metric
# told the train class sizes (many > 100, few < 20 train images). On the study's schedule
# (./icu_lenetpp_1xb64-1200it_digits-cls.py) with the ICU head (paper defaults); each leaf of
# the setting sets its arm's head on top. Double-underscore names: see that file.
_base_ = ['./icu_lenetpp_1xb64-1200it_digits-cls.py']

# --- tunable ---------------------------------------------------------------------------
__dim = 2
__ratio = 1.0
__data_root = 'data/digits_cls_icu_lt1'
# floor(400 * ratio^(-k/9)) for digit k (mmext.datasets.digits.builders)
__class_counts = [400, 400, 400, 400, 400, 400, 400, 400, 400, 400]
__many_shot = 100
__few_shot = 20
# ----------------------------------------------------------------------------------------

model = dict(backbone=dict(out_channels=__dim), head=dict(in_channels=__dim))
train_dataloader = dict(dataset=dict(data_root=__data_root, imbalance_ratio=__ratio))
val_dataloader = dict(dataset=dict(data_root=__data_root))
test_dataloader = dict(dataset=dict(data_root=__data_root))
val_evaluator = [
    _base_.val_evaluator[0],
    _base_.val_evaluator[1],
    dict(
        _base_.val_evaluator[2],
        class_counts=__class_counts,
        many_shot=__many_shot,
        few_shot=__few_shot,
    ),
]
