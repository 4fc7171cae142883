"""The WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app``."""

from web import create_app

app = create_app()
