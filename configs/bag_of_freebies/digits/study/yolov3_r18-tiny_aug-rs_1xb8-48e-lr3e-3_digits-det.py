# Study arm `+ random shapes` (tools/studies/freebies_yolo_digits.py, Table 2, stacked):
# baseline with random training shapes (Sec. 3.6): every 10 iterations the batch is resized
# to a multiple of 32 in [64, 160] (mmdet BatchSyncRandomResize).
_base_ = './yolov3_r18-tiny_aug_1xb8-48e-lr3e-3_digits-det.py'
# --- tunable ---------------------------------------------------------------------------
shape_range = (64, 160)
shape_interval = 10  # iterations between size changes (GluonCV: 10 batches)
# ----------------------------------------------------------------------------------------
model = dict(
    data_preprocessor=dict(
        batch_augments=[
            dict(
                type='BatchSyncRandomResize',
                random_size_range=shape_range,
                size_divisor=32,
                interval=shape_interval,
            )
        ]
    )
)
