"""The console's administration pages: the data systems (``systems:manage``), the API clients
and the webhook endpoints (``clients:manage``); the staff have theirs in :mod:`.staff_views`.

Each post runs its service call (the same the API and the commands call) inside
:func:`~consent_service.console.acting.staff_action`, so the change and its audit entry commit
together; the entry keeps identifiers, codes, hosts and times, never a secret or an address.
A secret (a client's, an endpoint's) and an enrolment link are shown once, on the page that
answers the post, and never again. Bad input re-renders the form (400) with the message beside
the field; a refused change is a 409 page that says why.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console import pages
from consent_service.console import settings_work as work
from consent_service.console.acting import staff_action
from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.oauth import service as oauth
from consent_service.organizations.models import Organization
from consent_service.rights import systems
from consent_service.webhooks import service as webhooks

bp = pages.blueprint("console_settings", __name__)


# Data systems ------------------------------------------------------------------------------


def _system_notice(done: str | None) -> str | None:
    return {
        "registered": gettext("The data system is registered."),
        "retired": gettext("The data system is retired."),
    }.get(done)


def _systems_page(org, lang, status=200, errors=None, form=None):
    page = render_template(
        "console/settings/systems.html", lang=lang, org=pages.org_view(org, lang), active="systems",
        systems=work.data_systems(org, lang), categories=work.categories(lang), errors=errors or {},
        form=form or {"categories": []}, notice=_system_notice(request.args.get("done")),
    )  # fmt: skip
    return page, status


def _system_errors(exc: InvalidInput) -> dict[str, str]:
    errors = {}
    if name := pages.problems(exc, "name"):
        errors["name"] = (
            gettext("Another data system has this name.")
            if "another" in name
            else gettext("Enter a name of 1 to 200 characters.")
        )
    if pages.problems(exc, "owner"):
        errors["owner"] = gettext("Enter who answers for the system (1 to 200 characters).")
    if pages.problems(exc, "categories"):
        errors["categories"] = gettext("Choose the categories of personal information the system holds.")
    if url := pages.problems(exc, "url"):
        errors["webhook_url"] = pages.url_message(url)
    return errors


@bp.get("/<slug>/systems")
def data_systems(slug: str):
    """The data systems in service, and the form that registers one."""
    lang, org, _ = pages.begin(slug, "systems:manage")
    return _systems_page(org, lang)


@bp.post("/<slug>/systems")
def register_system(slug: str):
    """Register a data system: by hand, or reached by its own webhook (its secret shown once)."""
    lang, org, member = pages.begin(slug, "systems:manage")
    form = {
        "name": request.form.get("name", ""),
        "owner": request.form.get("owner", ""),
        "categories": request.form.getlist("categories"),
        "webhook_url": request.form.get("webhook_url", "").strip(),
    }
    try:
        with staff_action(org, member, "system.register", None) as change:
            system, secret = systems.register(
                org, name=form["name"], owner=form["owner"], categories=form["categories"],
                webhook_url=form["webhook_url"] or None, now=utcnow(),
            )  # fmt: skip
            change.target = f"data_system:{system.public_id}"
            change.after = {
                "id": system.public_id, "status": "active", "delivery": system.delivery,
                "categories": list(system.categories), "name_length": len(system.name),
                "webhook_host": work.url_host(form["webhook_url"]) if secret else None,
            }  # fmt: skip
            system_id = system.public_id
    except InvalidInput as exc:
        return _systems_page(org, lang, 400, _system_errors(exc), form)
    back = url_for(".data_systems", slug=org.slug, lang=lang, done="registered")
    if secret is None:
        return redirect(back, 303)
    values = [(gettext("Data system"), system_id), (gettext("Signing secret"), secret)]
    return pages.shown_once(org, lang, gettext("The data system is registered"), values, back, "systems")


@bp.post("/<slug>/systems/<system_id>/retire")
def retire_system(slug: str, system_id: str):
    """Take a system out of service (refused while it has open tasks)."""
    lang, org, member = pages.begin(slug, "systems:manage")
    try:
        with staff_action(org, member, "system.retire", f"data_system:{system_id}") as change:
            change.before = {"id": system_id, "status": "active"}
            now = utcnow()
            systems.retire(org, system_id, now)
            change.after = {"id": system_id, "status": "retired", "retired_at": pages.iso(now)}
    except NotFound:
        abort(404)
    except Conflict as exc:
        message = gettext(
            "This system has %(num)d open tasks: answer them before retiring it.",
            num=(exc.details or {}).get("open_tasks", 0),
        )
        return pages.refused(org, lang, message, url_for(".data_systems", slug=org.slug, lang=lang))
    return pages.done(".data_systems", org, lang, "retired")


# API clients -------------------------------------------------------------------------------


def _client_notice(done: str | None) -> str | None:
    return gettext("The client is revoked: its tokens no longer work.") if done == "revoked" else None


def _clients_page(org, lang, status=200, errors=None, form=None):
    page = render_template(
        "console/settings/clients.html", lang=lang, org=pages.org_view(org, lang), active="clients",
        clients=work.clients(org, lang), scopes=work.scopes(), errors=errors or {},
        form=form or {"scopes": []}, notice=_client_notice(request.args.get("done")),
    )  # fmt: skip
    return page, status


def _own_client(org: Organization, client_id: str):
    """The client ``client_id`` of ``org``; 404 for any other (another's is not revealed)."""
    try:
        client = oauth.get_client(client_id)
    except NotFound:
        abort(404)
    if client.org_id != org.id:
        abort(404)
    return client


@bp.get("/<slug>/clients")
def clients(slug: str):
    """The organization's API clients, and the form that creates one."""
    lang, org, _ = pages.begin(slug, "clients:manage")
    return _clients_page(org, lang)


@bp.post("/<slug>/clients")
def create_client(slug: str):
    """Create a client; its secret is shown on the page that answers, once."""
    lang, org, member = pages.begin(slug, "clients:manage")
    form = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scopes")}
    try:
        with staff_action(org, member, "client.create", None) as change:
            issued = oauth.create_client(org, form["name"], form["scopes"], utcnow())
            change.target = f"oauth_client:{issued.client.client_id}"
            change.after = {"client_id": issued.client.client_id, "scopes": issued.client.scope.split()}
            client_id, secret = issued.client.client_id, issued.client_secret
    except InvalidInput as exc:
        errors = {}
        if pages.problems(exc, "name"):
            errors["name"] = gettext("Enter a name of 1 to 200 characters.")
        if pages.problems(exc, "scopes"):
            errors["scopes"] = gettext("Choose at least one scope.")
        return _clients_page(org, lang, 400, errors, form)
    values = [(gettext("Client id"), client_id), (gettext("Client secret"), secret)]
    back = url_for(".clients", slug=org.slug, lang=lang)
    return pages.shown_once(org, lang, gettext("The client is created"), values, back, "clients")


@bp.post("/<slug>/clients/<client_id>/rotate")
def rotate_client(slug: str, client_id: str):
    """Give the client a new secret (the old one stops working), shown once."""
    lang, org, member = pages.begin(slug, "clients:manage")
    client = _own_client(org, client_id)
    back = url_for(".clients", slug=org.slug, lang=lang)
    if client.revoked_at is not None:
        return pages.refused(
            org, lang, gettext("This client is revoked: its secret cannot be changed."), back
        )
    with staff_action(org, member, "client.rotate", f"oauth_client:{client_id}") as change:
        change.before = {"client_id": client_id, "secret_rotated_at": pages.iso(client.secret_rotated_at)}
        issued = oauth.rotate_secret(client_id, utcnow())
        change.after = {
            "client_id": client_id,
            "secret_rotated_at": pages.iso(issued.client.secret_rotated_at),
        }
        secret = issued.client_secret
    values = [(gettext("Client id"), client_id), (gettext("Client secret"), secret)]
    return pages.shown_once(org, lang, gettext("The client has a new secret"), values, back, "clients")


@bp.post("/<slug>/clients/<client_id>/revoke")
def revoke_client(slug: str, client_id: str):
    """Revoke the client and every token it holds."""
    lang, org, member = pages.begin(slug, "clients:manage")
    client = _own_client(org, client_id)
    with staff_action(org, member, "client.revoke", f"oauth_client:{client_id}") as change:
        change.before = {"client_id": client_id, "revoked_at": pages.iso(client.revoked_at)}
        revoked = oauth.revoke_client(client_id, utcnow())
        change.after = {"client_id": client_id, "revoked_at": pages.iso(revoked.revoked_at)}
    return pages.done(".clients", org, lang, "revoked")


# Webhooks ----------------------------------------------------------------------------------


def _webhook_notice(done: str | None) -> str | None:
    if done != "deleted":
        return None
    return gettext("The endpoint is deleted; its pending deliveries are given up.")


def _webhooks_page(org, lang, status=200, errors=None, form=None):
    page = render_template(
        "console/settings/webhooks.html", lang=lang, org=pages.org_view(org, lang), active="webhooks",
        endpoints=work.endpoints(org, lang), event_types=work.event_types(), errors=errors or {},
        form=form or {"events": []}, notice=_webhook_notice(request.args.get("done")),
    )  # fmt: skip
    return page, status


@bp.get("/<slug>/webhooks")
def webhook_endpoints(slug: str):
    """The organization's webhook endpoints, and the form that adds one."""
    lang, org, _ = pages.begin(slug, "clients:manage")
    return _webhooks_page(org, lang)


@bp.post("/<slug>/webhooks")
def create_webhook(slug: str):
    """Subscribe an address to events; the signing secret is shown once."""
    lang, org, member = pages.begin(slug, "clients:manage")
    form = {"url": request.form.get("url", "").strip(), "events": request.form.getlist("events")}
    try:
        with staff_action(org, member, "webhook.create", None) as change:
            endpoint, secret = webhooks.create_endpoint(org, form["url"], form["events"], utcnow())
            change.target = f"webhook_endpoint:{endpoint.public_id}"
            host = work.url_host(endpoint.url)
            change.after = {"id": endpoint.public_id, "host": host, "events": list(endpoint.events)}
            endpoint_id = endpoint.public_id
    except InvalidInput as exc:
        errors = {}
        if url := pages.problems(exc, "url"):
            errors["url"] = pages.url_message(url)
        if pages.problems(exc, "events"):
            errors["events"] = gettext("Choose at least one event.")
        return _webhooks_page(org, lang, 400, errors, form)
    values = [(gettext("Endpoint"), endpoint_id), (gettext("Signing secret"), secret)]
    back = url_for(".webhook", slug=org.slug, webhook_id=endpoint_id, lang=lang)
    return pages.shown_once(org, lang, gettext("The endpoint is created"), values, back, "webhooks")


@bp.get("/<slug>/webhooks/<webhook_id>")
def webhook(slug: str, webhook_id: str):
    """One endpoint and its latest deliveries, each with a button that sends it again."""
    lang, org, _ = pages.begin(slug, "clients:manage")
    try:
        data = work.endpoint_page(org, webhook_id, lang)
    except NotFound:
        abort(404)
    notice = gettext("The delivery is queued again.") if request.args.get("done") == "redelivered" else None
    page = render_template(
        "console/settings/webhook.html", lang=lang, org=pages.org_view(org, lang), e=data, notice=notice,
        active="webhooks",
    )  # fmt: skip
    return page, 200


@bp.post("/<slug>/webhooks/<webhook_id>/delete")
def delete_webhook(slug: str, webhook_id: str):
    """Unsubscribe the endpoint (its pending deliveries are given up)."""
    lang, org, member = pages.begin(slug, "clients:manage")
    try:
        with staff_action(org, member, "webhook.delete", f"webhook_endpoint:{webhook_id}") as change:
            endpoint = webhooks.get_endpoint(org, webhook_id)
            host = work.url_host(endpoint.url)
            change.before = {"id": webhook_id, "host": host, "events": list(endpoint.events)}
            now = utcnow()
            webhooks.delete_endpoint(org, webhook_id, now)
            change.after = {"id": webhook_id, "deleted_at": pages.iso(now)}
    except NotFound:
        abort(404)
    return pages.done(".webhook_endpoints", org, lang, "deleted")


@bp.post("/<slug>/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
def redeliver(slug: str, webhook_id: str, delivery_id: str):
    """Queue a delivery again: a new pending delivery of the same event."""
    lang, org, member = pages.begin(slug, "clients:manage")
    try:
        with staff_action(org, member, "webhook.redeliver", f"webhook_delivery:{delivery_id}") as change:
            copy = webhooks.redeliver(org, webhook_id, delivery_id, utcnow())
            change.after = {"endpoint": webhook_id, "delivery": copy.public_id, "status": copy.status}
    except NotFound:
        abort(404)
    return pages.done(".webhook", org, lang, "redelivered", webhook_id=webhook_id)
