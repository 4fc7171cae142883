"""The WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app``."""

from runtime.bootstrap import check_store_opens
from web import create_app
from web.application import current_application

app = create_app()
with app.app_context():
    check_store_opens(current_application())
