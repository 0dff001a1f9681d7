"""YOLOv3 head whose losses honour per-object mixup weights (Bag of Freebies, Table 1)."""

import warnings
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import YOLOV3Head
from mmdet.models.utils import images_to_levels, multi_apply
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from mmext.registry import MODELS
from mmext.structures.instance_weights import get_gt_weights

from ..losses.utils import check_class_labels, checked_on_host

_CONF_MODES = ('weight', 'target')


@MODELS.register_module()
class WeightedYOLOV3Head(YOLOV3Head):
    """mmdet's ``YOLOV3Head`` with per-object loss weights from coherent mixup.

    Bag of Freebies (Table 1, "weighted loss"): "the overall loss is the summation of multiple
    objects with ratio 0 to 1 according to image blending ratio they belong to". As in
    GluonCV's YOLOv3 (the mix ratio is written into the objectness target of the anchor that
    an object is matched to, and its ``YOLOV3Loss`` uses it as the weight of that anchor's
    losses), an anchor assigned to ground truth ``j`` with weight ``w_j``
    (``gt_instances.weights``, see ``mmext.PackDetInputsWithWeights``) contributes

    - ``w_j * BCE(cls_pred, cls_target)`` to ``loss_cls``,
    - ``w_j * loss_xy`` and ``w_j * loss_wh`` to the box losses,
    - to ``loss_conf``: with ``conf_mode='weight'`` (default, GluonCV's effective loss:
      ``hard_objness_t = 1``, mask ``= objness_t = w``) ``w_j * BCE(conf_pred, 1)``; with
      ``conf_mode='target'`` the objectness target itself is ``w_j``:
      ``BCE(conf_pred, w_j)``.

    Negative anchors keep weight 1 and ignored anchors weight 0, as upstream. Without a
    ``weights`` field (or with all weights 1) every loss equals the upstream head's.

    No host synchronisation in mmext's part of the step (the target and weight maps, the
    weighted losses): the weights are checked by a device-side assert on CUDA
    (:func:`~mmext.structures.instance_weights.check_instance_weights`), the class one-hot is a
    comparison (labels checked the same way) and upstream's "overlap between pos and neg
    sample" warning, which reads a maximum back, is checked for CPU tensors only. mmdet's
    assigner and sampler still synchronise (``nonzero``).

    Args:
        conf_mode (str): ``'weight'`` or ``'target'``, how the weight enters the objectness
            loss (see above). Defaults to ``'weight'``.
        *args: Positional arguments of ``YOLOV3Head``.
        **kwargs: Keyword arguments of ``YOLOV3Head``.
    """

    def __init__(self, *args, conf_mode: str = 'weight', **kwargs) -> None:
        if conf_mode not in _CONF_MODES:
            raise ValueError(f'conf_mode must be one of {_CONF_MODES}, got {conf_mode!r}')
        super().__init__(*args, **kwargs)
        self.conf_mode = conf_mode

    def loss_by_feat(
        self,
        pred_maps: Sequence[Tensor],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None,
    ) -> dict:
        """Compute the losses of all levels with per-anchor object weights.

        Args:
            pred_maps (Sequence[Tensor]): Prediction map of each level,
                (N, num_anchors * num_attrib, H, W).
            batch_gt_instances (list[InstanceData]): Ground truth per image (``bboxes``,
                ``labels``, optional ``weights``).
            batch_img_metas (list[dict]): Meta information of each image.
            batch_gt_instances_ignore (list[InstanceData], optional): Unused, as upstream.

        Returns:
            dict: ``loss_cls``, ``loss_conf``, ``loss_xy``, ``loss_wh`` (one entry per level).
        """
        num_imgs = len(batch_img_metas)
        device = pred_maps[0][0].device
        featmap_sizes = [pred_maps[i].shape[-2:] for i in range(self.num_levels)]
        mlvl_anchors = self.prior_generator.grid_priors(featmap_sizes, device=device)
        anchor_list = [mlvl_anchors for _ in range(num_imgs)]
        responsible_flag_list = [
            self.responsible_flags(featmap_sizes, gt.bboxes, device) for gt in batch_gt_instances
        ]
        target_maps, neg_maps, weight_maps = self.get_targets(
            anchor_list, responsible_flag_list, batch_gt_instances
        )
        losses_cls, losses_conf, losses_xy, losses_wh = multi_apply(
            self.loss_by_feat_single, pred_maps, target_maps, neg_maps, weight_maps
        )
        return dict(
            loss_cls=losses_cls, loss_conf=losses_conf, loss_xy=losses_xy, loss_wh=losses_wh
        )

    def loss_by_feat_single(
        self,
        pred_map: Tensor,
        target_map: Tensor,
        neg_map: Tensor,
        weight_map: Optional[Tensor] = None,
    ) -> tuple:
        """Weighted losses of one level.

        Args:
            pred_map (Tensor): Raw predictions, (N, num_anchors * num_attrib, H, W).
            target_map (Tensor): Targets, (N, H * W * num_anchors, num_attrib).
            neg_map (Tensor): Negative-anchor mask, (N, H * W * num_anchors).
            weight_map (Tensor, optional): Weight of the object each anchor is assigned to
                (1 for unassigned anchors), (N, H * W * num_anchors). None means ones.

        Returns:
            tuple[Tensor]: ``loss_cls``, ``loss_conf``, ``loss_xy``, ``loss_wh``.
        """
        num_imgs = len(pred_map)
        pred_map = pred_map.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_attrib)
        neg_mask = neg_map.float()
        pos_mask = target_map[..., 4]
        # upstream's sanity warning reads a value back: CPU tensors only (no sync on CUDA)
        if checked_on_host(pos_mask) and torch.max(neg_mask + pos_mask) > 1.0:
            warnings.warn('There is overlap between pos and neg sample.')
        if weight_map is None:
            weight_map = torch.ones_like(pos_mask)
        pos_weight = pos_mask * weight_map  # w_j on positives, 0 elsewhere
        if self.conf_mode == 'weight':
            target_conf = target_map[..., 4]
            conf_weight = torch.where(pos_mask > 0, weight_map, neg_mask)
        else:
            target_conf = pos_weight
            conf_weight = (neg_mask + pos_mask).clamp(min=0.0, max=1.0)
        pos_weight = pos_weight.unsqueeze(-1)

        loss_cls = self.loss_cls(pred_map[..., 5:], target_map[..., 5:], weight=pos_weight)
        loss_conf = self.loss_conf(pred_map[..., 4], target_conf, weight=conf_weight)
        loss_xy = self.loss_xy(pred_map[..., :2], target_map[..., :2], weight=pos_weight)
        loss_wh = self.loss_wh(pred_map[..., 2:4], target_map[..., 2:4], weight=pos_weight)
        return loss_cls, loss_conf, loss_xy, loss_wh

    def get_targets(
        self,
        anchor_list: List[List[Tensor]],
        responsible_flag_list: List[List[Tensor]],
        batch_gt_instances: List[InstanceData],
    ) -> tuple:
        """Target, negative and object-weight maps of every level.

        Args:
            anchor_list (list[list[Tensor]]): Anchors per image and level.
            responsible_flag_list (list[list[Tensor]]): Responsible flags per image and level.
            batch_gt_instances (list[InstanceData]): Ground truth per image.

        Returns:
            tuple[list[Tensor]]: ``target_maps``, ``neg_maps`` and ``weight_maps`` per level.
        """
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        target_maps, neg_maps, weight_maps = multi_apply(
            self._get_targets_single, anchor_list, responsible_flag_list, batch_gt_instances
        )
        return (
            images_to_levels(target_maps, num_level_anchors),
            images_to_levels(neg_maps, num_level_anchors),
            images_to_levels(weight_maps, num_level_anchors),
        )

    def _get_targets_single(
        self, anchors: List[Tensor], responsible_flags: List[Tensor], gt_instances: InstanceData
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Assign anchors of one image; also return the per-anchor object weight.

        Args:
            anchors (list[Tensor]): Anchors of each level, (num_anchors_l, 4).
            responsible_flags (list[Tensor]): Responsible flags of each level.
            gt_instances (InstanceData): Ground truth with ``bboxes``, ``labels`` and optional
                ``weights``.

        Returns:
            tuple[Tensor]: ``target_map`` (A, num_attrib), ``neg_map`` (A,) uint8 and
            ``weight_map`` (A,): ``weights[j]`` for anchors assigned to object ``j``, else 1.
        """
        gt_weights = get_gt_weights(gt_instances)
        priors = torch.cat(anchors)
        strides = torch.cat(
            [
                priors.new_full((len(level_anchors),), stride, dtype=torch.long)
                for stride, level_anchors in zip(self.featmap_strides, anchors)
            ]
        )
        pred_instances = InstanceData(priors=priors, responsible_flags=torch.cat(responsible_flags))
        assign_result = self.assigner.assign(pred_instances, gt_instances)
        sampling = self.sampler.sample(assign_result, pred_instances, gt_instances)
        pos_inds = sampling.pos_inds

        target_map = priors.new_zeros(priors.size(0), self.num_attrib)
        target_map[pos_inds, :4] = self.bbox_coder.encode(
            sampling.pos_priors, sampling.pos_gt_bboxes, strides[pos_inds]
        )
        target_map[:, 4].index_fill_(0, pos_inds, 1)  # a fill kernel, no tensor from Python
        # F.one_hot without its host-side range check: ValueError on CPU, device assert on CUDA
        labels = gt_instances.labels
        check_class_labels(labels, self.num_classes, name='gt_instances.labels')
        classes = torch.arange(self.num_classes, device=labels.device)
        one_hot = (labels.unsqueeze(1) == classes).to(target_map)
        if self.one_hot_smoother != 0:
            one_hot = (
                one_hot * (1 - self.one_hot_smoother) + self.one_hot_smoother / self.num_classes
            )
        target_map[pos_inds, 5:] = one_hot[sampling.pos_assigned_gt_inds]

        neg_map = priors.new_zeros(priors.size(0), dtype=torch.uint8)
        neg_map.index_fill_(0, sampling.neg_inds, 1)
        weight_map = priors.new_ones(priors.size(0))
        if gt_weights is not None:
            weight_map[pos_inds] = gt_weights.to(weight_map)[sampling.pos_assigned_gt_inds]
        return target_map, neg_map, weight_map
