"""What the processes share around the layers: log set-up with correlation ids, and the
nudge that tells Celery's workers of new events (by task name, so the web needs nothing of
``workers``)."""
