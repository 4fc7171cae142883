"""What the beat does, run over simulated time: ``python -m tests.scan_week DATABASE_URL
SMTP_PORT START HOURS``. Each simulated hour: catch the views up, scan for escalations, send
the notifications due."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from runtime.bootstrap import bootstrap
from domain.settings import Settings
from workers.escalation import scan
from workers.mail import MailSettings, send_due
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore


def main(database_url: str, smtp_port: str, start: str, hours: str) -> None:
    settings = Settings(database_url=database_url)
    application = bootstrap(settings).application
    updater = ViewUpdater(application, ViewStore(settings), batch_size=100)
    mail = MailSettings(port=int(smtp_port))
    moment = datetime.fromisoformat(start)
    for _ in range(int(hours)):
        updater.catch_up()
        scan(application, updater.store, moment)
        updater.catch_up()
        send_due(application, updater.store, mail, moment)
        moment += timedelta(hours=1)
    application.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
