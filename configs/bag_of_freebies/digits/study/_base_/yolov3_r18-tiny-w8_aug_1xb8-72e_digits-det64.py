# The small setting of the tiny YOLOv3 digits pilot (tools/studies/pilots/
# freebies_yolo_small_pilot.py): the data and schedule every arm trains, on Table 2's
# augmented tiny YOLOv3 (../../yolov3_r18-tiny_aug_1xb8-8e_digits-det.py). Every length of
# the digits detection data x 2/3 (64x64 canvases, digits of 8-27 px, the 96x96 k-means
# anchors x 2/3, built under data/digits_det64), a ResNet-18 of stage width 8 (16 in the
# studies) and a fused AdamW (the same update rule): 0.54x (baseline) to 0.68x (whole bag)
# the time per iteration (benchmarks/yolo_digits_step.py). Schedule: the 72 epochs of
# freebies_yolo_schedule_pilot.py at the digits rows' lr 0.01, 1-epoch warm-up, x0.1 at
# epochs 54 and 63 (3/4 and 7/8), validation every 6 epochs, checkpoint at the end; no
# visualisation drawing, train / val data loaded in the main process (2 CPU cores). Not used
# by any study: the pilot found it a far weaker detector (24.2 mAP@0.5 after 72 epochs vs
# 79.7 at 96x96). tools/studies/settings/freebies_digits.small_setting() spells the same
# setting as --cfg-options for any tiny YOLOv3 row (benchmarks/yolo_digits_step.py).
#
# As in ./yolov3_r18-tiny_baseline_1xb8-48e-lr3e-3_digits-det.py: the setting's variables
# have two leading underscores (mmengine leaves them out of the resolved config) and the
# inherited variables (canvas_size, data_root, width, anchor_sizes, max_epochs, lr_steps,
# aug_pipeline, ...) keep their 96x96 / 8-epoch values, so that every leaf resolves to
# exactly the config its arm trained when the pilot spelled the setting as --cfg-options
# (the run cache's key). What trains is set in the fields below.
_base_ = '../../yolov3_r18-tiny_aug_1xb8-8e_digits-det.py'

# --- tunable ---------------------------------------------------------------------------
__canvas = 64
__data_root = 'data/digits_det64'
__digit_size = (8, 27)
__width = 8  # channels of the first residual stage
__anchors = [  # the 96x96 k-means anchors (w, h) x 2/3, strides 32, 16, 8
    [(19, 19), (17, 25), (23, 24)],
    [(7, 17), (11, 14), (14, 19)],
    [(3, 11), (7, 9), (9, 11)],
]
__epochs = 72
__steps = [54, 63]  # x0.1 at 3/4 and 7/8 of the epochs
__val_every = 6
# ----------------------------------------------------------------------------------------

__resize = (__canvas, __canvas)
# the Resize step is index 4 of the augmented train pipeline and 1 of the test pipeline
__train = _base_.train_dataloader.dataset.pipeline
__test = _base_.test_dataloader.dataset.pipeline
__small_data = dict(
    data_root=__data_root, build_cfg=dict(canvas_size=__canvas, digit_size=__digit_size)
)
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        __small_data, pipeline=[*__train[:4], dict(__train[4], scale=__resize), *__train[5:]]
    ),
)
__test_dataset = dict(
    __small_data, pipeline=[__test[0], dict(__test[1], scale=__resize), *__test[2:]]
)
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=__test_dataset)
test_dataloader = dict(dataset=__test_dataset)
val_evaluator = dict(ann_file=__data_root + '/annotations/instances_val.json')
test_evaluator = dict(ann_file=__data_root + '/annotations/instances_val.json')
model = dict(
    backbone=dict(base_channels=__width),
    neck=dict(
        in_channels=[8 * __width, 4 * __width, 2 * __width],
        out_channels=[8 * __width, 4 * __width, 2 * __width],
    ),
    bbox_head=dict(
        in_channels=[8 * __width, 4 * __width, 2 * __width],
        out_channels=[16 * __width, 8 * __width, 4 * __width],
        anchor_generator=dict(base_sizes=__anchors),
    ),
)
optim_wrapper = dict(optimizer=dict(fused=True))
train_cfg = dict(max_epochs=__epochs, val_interval=__val_every)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], milestones=__steps)]
default_hooks = dict(checkpoint=dict(interval=__epochs), visualization=dict(draw=False))
