"""mmext's evaluation metrics."""

from .metrics import ClassAccuracyMetric, FairCocoMetric, FairIoUMetric

__all__ = ['ClassAccuracyMetric', 'FairCocoMetric', 'FairIoUMetric']
