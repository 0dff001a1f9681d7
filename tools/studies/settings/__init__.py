"""Settings shared by several studies: data, schedules and the ``--cfg-options`` they write."""
