"""Maps domain errors to HTTP answers that name the problem but reveal no case data."""

from __future__ import annotations

from flask import Flask, render_template

from domain.base import ConflictError, DomainError, NotFound, PermissionDenied

STATUS = ((NotFound, 404), (PermissionDenied, 403), (ConflictError, 409), (DomainError, 422))


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        status = next(code for cls, code in STATUS if isinstance(error, cls))
        return render_template("error.html", status=status, message=error.message), status

    @app.errorhandler(404)
    def not_found(_):  # type: ignore[no-untyped-def]
        return render_template("error.html", status=404,
                               message="Diese Seite gibt es nicht."), 404

    @app.errorhandler(500)
    def server_error(_):  # type: ignore[no-untyped-def]
        return render_template("error.html", status=500,
                               message="Ein interner Fehler ist aufgetreten."), 500
