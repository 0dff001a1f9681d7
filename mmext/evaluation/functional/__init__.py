"""mmext's evaluation functions (no registry entries), used by the metrics and the tools."""

from .fairness import ReferenceType, fairness_summary, frequency_weighted_iou, load_reference_iou

__all__ = ['ReferenceType', 'fairness_summary', 'frequency_weighted_iou', 'load_reference_iou']
