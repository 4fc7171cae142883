"""The web entry point: ``create_app()`` builds the Flask app around the domain's
application (from :func:`domain.bootstrap.bootstrap`)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask

from domain.application import ReferralNetwork
from domain.bootstrap import bootstrap
from domain.settings import Settings


def create_app(settings: Settings | None = None, *, engine: ReferralNetwork | None = None,
               config: dict[str, Any] | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_relative_config=False)
    # Without a configured key the sessions of one process stay valid only for that process.
    app.config["SECRET_KEY"] = settings.secret_key or secrets.token_hex(32)
    app.config["NUDGE_WORKERS"] = True
    app.config.update(config or {})
    app.extensions["fallnetz.settings"] = settings
    app.extensions["fallnetz.engine"] = engine or bootstrap(settings)
    if app.config["NUDGE_WORKERS"]:
        from workers.nudge import nudge_views

        app.extensions["fallnetz.engine"].after_save.append(nudge_views)

    from web import cli, errors
    from web.cases import bp as cases_bp

    app.register_blueprint(cases_bp)
    errors.init_app(app)
    cli.init_app(app)
    return app
