"""Utilities of mmext (importing this package applies nothing; see ``mmext/__init__.py``)."""
