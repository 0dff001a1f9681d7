# Bag of Freebies, Table 2 "+ random training shapes" (section 3.6): every 10 iterations the
# whole batch is resized to a random square in {320, 352, ..., 608} (the same size on every
# rank), on top of the fixed 416 x 416 data pipeline. Evaluation stays at 416 x 416.
_base_ = './yolov3_d53_syncbn_8xb8-200e_voc0712.py'

random_size_range = (320, 608)
random_size_interval = 10

model = dict(
    data_preprocessor=dict(
        batch_augments=[
            dict(
                type='BatchSyncRandomResize',
                random_size_range=random_size_range,
                interval=random_size_interval,
                size_divisor=32,
            )
        ]
    )
)
