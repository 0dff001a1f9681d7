# Bag of Freebies Table 2 "+ random training shapes" on the digits: the augmented baseline
# trained on batches resized to a random multiple of 32 in [64, 160] (96 is the test size;
# mean 112 = 1.17x test, range 0.67-1.67x), a new size every 10 iterations, as GluonCV's
# random-shape loader (320-608 around 416: mean 464 = 1.12x, range 0.77-1.46x; on average
# larger than the test size; an earlier [64, 128] averaged the test size).
_base_ = './yolov3_r18-tiny_aug_1xb8-8e_digits-det.py'

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
