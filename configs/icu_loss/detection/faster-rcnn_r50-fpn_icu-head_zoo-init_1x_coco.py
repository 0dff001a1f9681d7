# Beyond the ICU paper: fine-tune the model-zoo Faster R-CNN R50-FPN 1x COCO checkpoint with
# the ICU Gaussian RoI classifier. Every weight except the classifier loads from the
# checkpoint (load_from is non-strict: fc_cls.weight/bias are dropped, fc_cls.means/log_vars
# start from their initialisation), then the 1x schedule runs at a tenth of the lr.
_base_ = ['./faster-rcnn_r50-fpn_icu-head_1x_coco.py']

load_from = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth'  # noqa: E501
optim_wrapper = dict(optimizer=dict(lr=0.002))
