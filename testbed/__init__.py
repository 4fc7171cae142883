"""What the tests and the benchmarks share: the small test network (``world``), helpers that
drive the web as its users do (``web``), and real processes to start and stop
(``processes``: Celery workers, gunicorn, a private PostgreSQL, Debian programs)."""
