# ICU loss, Table 1 "MNIST 100D", row L-GM: the same Gaussian head without ln|Sigma| in the
# decision distance (L-GM's Eq. 5); gamma has nothing to act on and is 0.
_base_ = ['./icu_lenetpp-100d_1xb128-adam-50e_mnist.py']

model = dict(head=dict(use_log_det=False, gamma=0.))
