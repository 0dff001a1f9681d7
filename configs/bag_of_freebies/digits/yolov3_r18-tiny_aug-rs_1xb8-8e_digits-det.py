# Bag of Freebies Table 2 "+ random training shapes" on the digits: the augmented baseline
# trained on batches resized to a random multiple of 32 in [64, 128] (96 is the test size),
# a new size every 10 iterations, as GluonCV's random-shape loader (320-608 around 416).
_base_ = './yolov3_r18-tiny_aug_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
shape_range = (64, 128)
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
