"""consent_service: a consent ledger and data-subject rights service (PIPL, GB/T 35273-2020).

``create_app`` reads top to bottom: configuration, extensions, the interfaces each capability
provides, blueprints, jobs and commands, each named here (``docs/architecture.md`` has the
layers and what each package owns).
"""

from __future__ import annotations

from typing import Any

import flask_babel
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from consent_service import config as config_layers
from consent_service import demo, holidays, i18n, models, pdf, scheduling
from consent_service.api import openapi
from consent_service.api import registry as api_registry
from consent_service.audit import cli as audit_cli
from consent_service.audit import jobs as audit_jobs
from consent_service.audit import trail as audit_trail
from consent_service.clock import SystemClock
from consent_service.commands import AuditRecorder
from consent_service.consent import api as consent_api
from consent_service.consent import cli as consent_cli
from consent_service.consent import jobs as consent_jobs
from consent_service.consent.erasure import SignInArtefacts
from consent_service.consent.reconsent import consents_needing_reconsent
from consent_service.console import account_views as console_account_views
from consent_service.console import audit_views as console_audit_views
from consent_service.console import export_views as console_export_views
from consent_service.console import policy_views as console_policy_views
from consent_service.console import record_views as console_record_views
from consent_service.console import request_views as console_request_views
from consent_service.console import settings_views as console_settings_views
from consent_service.console import staff_views as console_staff_views
from consent_service.console import subject_views as console_subject_views
from consent_service.console import views as console_views
from consent_service.dashboard import api as dashboard_api
from consent_service.dashboard import jobs as dashboard_jobs
from consent_service.dashboard import request_views as dashboard_request_views
from consent_service.dashboard import signin as dashboard_signin
from consent_service.dashboard import signin_views as dashboard_signin_views
from consent_service.dashboard import views as dashboard_views
from consent_service.database import configure_engine
from consent_service.exports import jobs as exports_jobs
from consent_service.exports.service import ReportWriter
from consent_service.extensions import babel, csrf, db, limiter, migrate, scheduler
from consent_service.holidays import HolidayCalendar
from consent_service.mail import jobs as mail_jobs
from consent_service.mail.transports import MailTransport
from consent_service.mail.transports import from_config as mail_transport
from consent_service.main import views as main_views
from consent_service.oauth import cli as oauth_cli
from consent_service.oauth import server as oauth_server
from consent_service.oauth import views as oauth_views
from consent_service.organizations import cli as organizations_cli
from consent_service.pdf import PdfRenderer
from consent_service.policies import api as policies_api
from consent_service.policies import views as policies_views
from consent_service.policies.service import ReconsentCounter
from consent_service.receipts import api as receipts_api
from consent_service.receipts import cli as receipts_cli
from consent_service.receipts import views as receipts_views
from consent_service.records import api as records_api
from consent_service.records import cli as records_cli
from consent_service.records.report_file import write_report
from consent_service.rights import api as rights_api
from consent_service.rights import cli as rights_cli
from consent_service.rights import jobs as rights_jobs
from consent_service.rights import systems_api as rights_systems_api
from consent_service.rights import views as rights_views
from consent_service.services import provide
from consent_service.staff import cli as staff_cli
from consent_service.web import errors, redaction, security
from consent_service.webhooks import api as webhooks_api
from consent_service.webhooks import delivery
from consent_service.webhooks import jobs as webhooks_jobs

__all__ = ["create_app", "models"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, jobs, commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    config_layers.load(app, config)
    app.extensions["clock"] = app.config.get("CLOCK") or SystemClock()
    if app.config["PROXY_COUNT"]:
        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    with app.app_context():
        configure_engine(db.engine)
    oauth_server.init_app(app)
    limiter.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.babel_locale, timezone_selector=i18n.babel_timezone)
    # The locale is chosen per request (``?lang=``, Accept-Language), never kept from an earlier
    # request that shared the application context.
    app.before_request(flask_babel.refresh)
    app.jinja_env.globals["language_url"] = i18n.language_url
    delivery.init_app(app)

    # What lower layers ask for and higher ones (or the configuration) provide.
    provide(app, ReconsentCounter, consents_needing_reconsent)
    provide(app, SignInArtefacts, dashboard_signin.delete_sign_in_artefacts)
    provide(app, HolidayCalendar, holidays.from_config(app))
    provide(app, PdfRenderer, pdf.from_config(app))
    provide(app, MailTransport, mail_transport(app))
    provide(app, AuditRecorder, audit_trail.record_now)
    provide(app, ReportWriter, write_report)

    api = api_registry.blueprint(
        consent_api,
        policies_api,
        webhooks_api,
        dashboard_api,
        rights_api,
        rights_systems_api,
        receipts_api,
        records_api,
    )
    openapi.add_routes(api)
    for blueprint in (
        main_views.bp,
        policies_views.bp,
        receipts_views.bp,
        oauth_views.bp,
        api,
        dashboard_views.bp,
        dashboard_request_views.bp,
        dashboard_signin_views.bp,
        rights_views.bp,
        console_views.bp,
        console_request_views.bp,
        console_account_views.bp,
        console_policy_views.bp,
        console_audit_views.bp,
        console_subject_views.bp,
        console_settings_views.bp,
        console_staff_views.bp,
        console_record_views.bp,
        console_export_views.bp,
    ):
        app.register_blueprint(blueprint)
    # The API and OAuth authenticate with tokens, not cookies: no CSRF token applies.
    for blueprint in (api, oauth_views.bp):
        csrf.exempt(blueprint)
    errors.register(app)
    security.init_app(app)
    redaction.init_app(app)

    # Run once each in this order: expiry first, so that the checkpoint covers it.
    scheduler.init_app(
        app,
        [
            *consent_jobs.JOBS,
            *audit_jobs.JOBS,
            *rights_jobs.JOBS,
            *dashboard_jobs.JOBS,
            *exports_jobs.JOBS,
            *webhooks_jobs.JOBS,
            *mail_jobs.JOBS,
        ],
        record=audit_trail.record_job_run,
    )
    for group in (
        organizations_cli.orgs,
        oauth_cli.clients,
        receipts_cli.receipts,
        consent_cli.consents,
        audit_cli.audit,
        records_cli.records,
        rights_cli.calendar,
        staff_cli.staff,
        scheduling.scheduler_cli,
        demo.demo_cli,
    ):
        app.cli.add_command(group)
    return app
