# Focal-loss alpha of the TCE paper (Sec. 3): the normalised inverse class pixel
# frequency of the train split of configs/tilted_ce/digits/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py.
# Written by (do not edit; rerun it instead):
#   python tools/analysis/class_pixel_frequency.py configs/tilted_ce/digits/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py --num-workers 1 --out-base configs/tilted_ce/_base_/focal_alpha_digits-seg.py
focal_alpha_classes = ['background', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
focal_alpha = [
    0.0010167436743873306,
    0.017988304619393675,
    0.05120774995014179,
    0.03543255862976116,
    0.048358124798945926,
    0.07153368317123099,
    0.08464496434275885,
    0.102208121103841,
    0.16239990561933093,
    0.16268404376627757,
    0.2625258003239307,
]
