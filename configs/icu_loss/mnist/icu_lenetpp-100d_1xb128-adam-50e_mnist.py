# ICU loss, Table 1 "MNIST 100-D", row ICU: BN CNN with 5 conv layers and one FC layer to a
# 100-D feature (section 4.1); same optimiser and schedule as the 2-D network.
_base_ = ['./icu_lenetpp-2d_1xb128-adam-50e_mnist.py']

# --- tunable ---------------------------------------------------------------------------
feat_dim = 100
# ----------------------------------------------------------------------------------------

model = dict(
    backbone=dict(conv_channels=(32, 32, 64, 64, 128), fc_channels=(), out_channels=feat_dim),
    head=dict(in_channels=feat_dim),
)
