"""mmext's evaluation metrics."""

from .metrics import ClassAccuracyMetric, FairIoUMetric

__all__ = ['ClassAccuracyMetric', 'FairIoUMetric']
