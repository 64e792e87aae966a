"""The ``sip-engine`` command. Each command is an entry point: it builds the runtime,
opens one transaction, commits once."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from .clock import STOCKHOLM, FixedClock
from .config import Settings, SettingsError, load_settings
from .db import refresh_planner_statistics
from .migrate import upgrade
from .runtime import Runtime, build_runtime
from .status import status_report
from .workflow import WorkflowDefinitionError, WorkflowRegistry
from .workflow.diagram import mermaid


def _settings() -> Settings:
    """The settings, every one parsed and checked; a malformed one stops the command at once
    with a message naming the variable (exit 2, no traceback), before anything runs."""
    try:
        return load_settings()
    except SettingsError as exc:
        click.echo(f"Fel i inställningarna: {exc}", err=True)
        sys.exit(2)


def _runtime() -> Runtime:
    """The runtime for this command; its connections are closed when the command ends."""
    runtime = build_runtime(_settings())
    click.get_current_context().call_on_close(runtime.engine.dispose)
    return runtime


@click.group()
def main() -> None:
    """SIP engine: samordnad individuell plan för barn och unga."""


@main.command()
def init() -> None:
    """Create or upgrade the database schema to the newest version."""
    runtime = _runtime()
    upgrade(runtime.engine)
    click.echo(f"Databasen är uppgraderad ({runtime.engine.url.render_as_string()}).")


@main.command()
def demo() -> None:
    """Load demo data (Göteborgsområdet); running it again adds nothing."""
    from .demo import DEMO_PASSWORDS, load_demo

    runtime = _runtime()
    upgrade(runtime.engine)
    with runtime.sessions.begin() as session:
        summary = load_demo(session, runtime.workflow, runtime.clock.now())
    if summary.created:
        click.echo(
            f"Demodata inläst: {summary.organisations} verksamheter, {summary.users} användare, "
            f"{summary.cases} ärenden."
        )
    else:
        click.echo("Demodata fanns redan; inget har lagts till.")
    click.echo("Demokonton (användarnamn / lösenord):")
    for username, password in DEMO_PASSWORDS.items():
        click.echo(f"  {username} / {password}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(as_json: bool) -> None:
    """Number of cases per workflow state and per NOSAM area; the outbox's oldest undelivered
    message (age in seconds) and failed messages, for monitoring."""
    runtime = _runtime()
    with runtime.sessions() as session:
        counts = status_report(session, runtime.clock.now())
    if as_json:
        click.echo(json.dumps(counts, ensure_ascii=False, indent=2, sort_keys=True))
        return
    outbox = counts["outbox"]
    oldest = outbox["oldest_pending_seconds"]
    click.echo(
        f"Utkorgen: äldsta ej levererade {'–' if oldest is None else f'{oldest} s'}, "
        f"misslyckade {outbox['failed']}"
    )
    click.echo(f"Ärenden totalt: {counts['total']}")
    for workflow, states in counts["by_state"].items():
        definition = runtime.registry.latest(workflow)
        click.echo(f"\n{definition.title}")
        for state_id in definition.states:
            label = definition.state_label(state_id)
            click.echo(f"  {label:<20} {states.get(state_id, 0):>6}")


@main.command()
@click.option("--period", required=True, help="Year (2026), quarter (2026-K1) or month (2026-03).")
@click.option("--area", default=None, help="NOSAM area by name; all areas if left out.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def report(period: str, area: str | None, as_json: bool) -> None:
    """SIP figures per NOSAM area and period: the same report as the web page."""
    from .reports.cli import print_report

    print_report(_runtime(), period, area, as_json)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Run the scheduler in this process (off when separate scheduler processes run).",
)
def serve(host: str, port: int, threads: int, scheduler: bool) -> None:
    """Serve the web UI with waitress (a production WSGI server)."""
    import waitress

    from webui import create_app

    settings = _settings()
    # A pooled connection for every request thread and the scheduler: beyond the pool's size
    # connections are opened and closed per request (on SQLite each with a cold page cache).
    runtime = build_runtime(settings, pool_size=threads + 2)
    upgrade(runtime.engine)
    refresh_planner_statistics(runtime.engine)
    app = create_app(runtime=runtime)
    if scheduler:
        from .scheduler import start_background_scheduler

        start_background_scheduler(runtime)  # once, in this process only
    click.echo(f"SIP-stöd körs på http://{host}:{port}/  (avsluta med Ctrl+C)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="sip-engine")


def _clock_at(at: str | None) -> FixedClock | None:
    """``--now``: the moment as an ISO time (Stockholm time without an offset)."""
    if not at:
        return None
    moment = datetime.fromisoformat(at)
    return FixedClock(moment if moment.tzinfo else moment.replace(tzinfo=STOCKHOLM))


@main.command("send-mail")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between sweeps.")
@click.option(
    "--now",
    "at",
    default=None,
    help="With --once: deliver as if it were this ISO time (Stockholm time without an offset).",
)
def send_mail(once: bool, interval: float, at: str | None) -> None:
    """Deliver the mail outbox over SMTP (SIP_SMTP_URL).

    With --once, exits 1 when a message could not be delivered (it is retried later, or has
    failed for good). Without it, runs until SIGTERM or Ctrl+C, through database and SMTP
    outages; on SIGTERM it finishes the message in hand and releases the rest of its batch."""
    import signal

    from .notify.sender import OutboxSender
    from .scheduler import survive

    if at and not once:
        raise click.UsageError("--now goes with --once")
    runtime = _runtime()
    if not runtime.settings.smtp:
        click.echo("SIP_SMTP_URL är inte satt; meddelandena visas i den lokala posten.", err=True)
        sys.exit(2)
    sender = OutboxSender(
        runtime.sessions,
        runtime.settings.smtp,
        _clock_at(at) or runtime.clock,
        runtime.settings.mail_from,
    )
    if once:
        report = sender.deliver_all_due()
        click.echo(
            f"skickade {report.sent}, försöker igen {report.retried}, misslyckade {report.failed}"
        )
        if report.retried or report.failed:
            raise SystemExit(1)  # for cron and monitoring: someone must look at the log
        return

    def stop(_signum: int, _frame: object) -> None:
        sender.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def sweep() -> None:
        report = sender.deliver_all_due()
        if report.sent or report.retried or report.failed:
            click.echo(
                f"skickade {report.sent}, försöker igen {report.retried}, "
                f"misslyckade {report.failed}"
            )

    while not sender.stopping.is_set():
        survive("mail delivery", sweep)
        sender.stopping.wait(interval)


@main.command()
@click.option("--once", is_flag=True, help="Run one sweep, then stop.")
@click.option(
    "--now",
    "at",
    default=None,
    help="With --once: sweep as if it were this ISO time (Stockholm time without an offset).",
)
def scheduler(once: bool, at: str | None) -> None:
    """Send due reminders and escalations, and deliver the outbox."""
    from .scheduler import run_blocking_scheduler, scheduler_tick

    runtime = _runtime()
    if not once:
        if at:
            raise click.UsageError("--now goes with --once")
        click.echo("Schemaläggaren körs (avsluta med Ctrl+C).")
        run_blocking_scheduler(runtime)
        return
    report, delivered = scheduler_tick(runtime, _clock_at(at))
    if report.held_for_quiet_hours:
        click.echo("Tyst tid: inga påminnelser skickas nu.")
    click.echo(
        f"påminnelser: {report.reminders}, meddelanden: {report.messages}, levererade: {delivered}"
        f", misslyckade: {report.failed}, ej levererade: {report.undelivered}"
    )
    if report.failed or report.undelivered:
        # For cron and monitoring: the rest went out, but someone must look at the log.
        raise SystemExit(1)


@main.group()
def workflows() -> None:
    """Workflow definitions in workflows/."""


@workflows.command("check")
@click.option(
    "--directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Check the definitions in this folder instead of the installed workflows/.",
)
def workflows_check(directory: Path | None) -> None:
    """Validate every workflow definition; exit 1 with the file and entry on error."""
    try:
        registry = WorkflowRegistry.from_directory(directory)
    except WorkflowDefinitionError as exc:
        click.echo(f"Fel: {exc}", err=True)
        sys.exit(1)
    for definition in registry:
        click.echo(
            f"OK  {definition.name} v{definition.version}: {len(definition.states)} tillstånd, "
            f"{len(definition.triggers)} övergångar, {len(definition.reminders)} påminnelseregler "
            f"({definition.source})"
        )


@workflows.command("diagram")
@click.argument("name")
def workflows_diagram(name: str) -> None:
    """Print a Mermaid stateDiagram-v2 of workflow NAME."""
    try:
        definition = WorkflowRegistry.from_directory().latest(name)
    except WorkflowDefinitionError as exc:
        click.echo(f"Fel: {exc}", err=True)
        sys.exit(1)
    click.echo(mermaid(definition), nl=False)


if __name__ == "__main__":  # python -m sip_engine.cli
    main()
