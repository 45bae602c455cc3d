"""Scheduled jobs: each package declares its jobs, ``create_app`` hands them to the scheduler.

A :class:`Job` names a function of its package's ``jobs`` module and the setting that says how
often it runs. Jobs are thin (house style 8): the scheduler gives each run an application
context; the job calls a service inside a unit of work and returns what it did. Every job is
idempotent and safe in two processes at once, so any number of ``flask scheduler run``
processes may share one PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from flask.cli import AppGroup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One scheduled job: what it is called, what it runs, and how often."""

    #: The job's id, also the key of its result in ``flask scheduler run --once``.
    name: str
    func: Callable[[], Any]
    #: The configuration key of the interval between runs.
    interval_setting: str
    #: The unit of that interval: ``minutes`` or ``seconds``.
    unit: str = "minutes"


class JobScheduler:
    """The application's jobs, run by APScheduler (``flask scheduler run``) or once each."""

    def init_app(
        self, app: Flask, jobs: Iterable[Job], record: Callable[[str, Any], None] | None = None
    ) -> None:
        """Bind the jobs, in the order they should run when run once each; ``record`` is
        given each run's job name and result after it (the audit trail's, in its own unit of
        work: this module stands below the packages that write)."""
        app.extensions["scheduler"] = {job.name: job for job in jobs}
        app.extensions["scheduler_runner"] = self
        app.extensions["scheduler_record"] = record

    def jobs(self, app: Flask | None = None) -> dict[str, Job]:
        """The jobs of ``app`` (the current application by default), by name."""
        return (app or current_app).extensions["scheduler"]

    def run(self, app: Flask, name: str) -> Any:
        """Run one job now in an application context of its own; return its result."""
        job = self.jobs(app)[name]
        with app.app_context():  # its end removes the session (Flask-SQLAlchemy)
            result = job.func()
            record = app.extensions.get("scheduler_record")
            if record is not None:
                record(name, result)
        log.debug("job %s: %s", name, result)
        return result

    def run_all_once(self, app: Flask) -> dict[str, Any]:
        """Run every job once, in order (cron-style deployments and tests)."""
        return {name: self.run(app, name) for name in self.jobs(app)}

    def build(self, app: Flask) -> BlockingScheduler:
        """A blocking APScheduler with every job at its configured interval."""
        scheduler = BlockingScheduler(timezone="UTC")
        for job in self.jobs(app).values():
            scheduler.add_job(
                self.run,
                "interval",
                args=[app, job.name],
                id=job.name,
                coalesce=True,
                max_instances=1,
                replace_existing=True,
                **{job.unit: app.config[job.interval_setting]},
            )
        return scheduler


scheduler_cli = AppGroup("scheduler", help="Scheduled jobs (expiry, checkpoints, outbox delivery).")


@scheduler_cli.command("run")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
def run_command(once: bool) -> None:
    """Run the scheduler in the foreground (several processes may run at once)."""
    scheduler: JobScheduler = current_app.extensions["scheduler_runner"]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        click.echo(json.dumps(scheduler.run_all_once(app), ensure_ascii=False, indent=2, default=str))
        return
    running = scheduler.build(app)
    click.echo("scheduler running; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        running.start()
