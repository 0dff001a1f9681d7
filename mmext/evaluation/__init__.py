"""mmext's evaluation metrics."""
from .metrics import FairIoUMetric

__all__ = ['FairIoUMetric']
