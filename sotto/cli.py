"""The `sotto` command: run the server, manage accounts and keys, check the audit log."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sotto.config import SettingsError, get_settings, load_settings

app = typer.Typer(
    help="Sotto: consent-first recording and AI review for psychotherapists.",
    no_args_is_help=True,
    add_completion=False,
)
admin_app = typer.Typer(help="Manage practices and accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the tamper-evident audit log.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
mail_app = typer.Typer(help="Look after mail that could not be delivered.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(mail_app, name="mail")
keys_app = typer.Typer(help="Manage the key-encryption keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _runtime():  # type: ignore[no-untyped-def]
    from sotto.runtime import build_runtime

    try:
        settings = get_settings()
    except SettingsError as exc:
        typer.echo(f"sotto: {exc}", err=True)
        raise typer.Exit(2) from None
    return build_runtime(settings)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: SOTTO_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: SOTTO_PORT).")] = None,
) -> None:
    """Start the web server with its background workers, and print where to open it.

    On an empty database this also prints a one-time link to set up the practice and its
    first admin account.
    """
    import uvicorn

    from sotto.accounts import service as accounts
    from sotto.app import create_app
    from sotto.db import session_scope
    from sotto.logs import configure_logging

    runtime = _runtime()
    configure_logging(runtime.settings.log_level)
    with session_scope(runtime.sessions) as session:
        token = accounts.issue_first_admin_link(session)
    address = runtime.settings.public_url
    typer.echo(f"\nSotto is starting. Open {address}/ in your browser.")
    if token:
        typer.echo(
            f"First start: set up the practice and its admin account here (one use, 24 hours):\n"
            f"  {address}/enrol/{token}\n"
        )
    uvicorn.run(
        create_app(runtime),
        host=host or runtime.settings.host,
        port=port or runtime.settings.port,
        log_config=None,
        access_log=True,
        server_header=False,
        proxy_headers=False,
    )


@admin_app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="The person's work e-mail; they sign in with it.")],
    name: Annotated[str, typer.Option(help="Their name as colleagues know it.")],
    role: Annotated[str, typer.Option(help="admin, therapist or supervisor.")] = "therapist",
    practice: Annotated[str | None, typer.Option(help="Practice id; needed only if there are several.")] = None,
) -> None:
    """Create an account and print its one-time enrolment link (password and two-factor set-up)."""
    from sqlalchemy import select

    from sotto.accounts import service as accounts
    from sotto.accounts.models import Practice, Role
    from sotto.db import session_scope

    runtime = _runtime()
    if role not in {r.value for r in Role}:
        typer.echo("sotto: --role must be admin, therapist or supervisor", err=True)
        raise typer.Exit(2)
    with session_scope(runtime.sessions) as session:
        practices = list(session.scalars(select(Practice)))
        chosen = [p for p in practices if practice in (None, p.id)]
        if len(chosen) != 1:
            message = (
                "no practice exists yet: run `sotto serve` and use the first-start link"
                if not practices
                else "give --practice with one of: " + ", ".join(p.id for p in practices)
            )
            typer.echo(f"sotto: {message}", err=True)
            raise typer.Exit(2)
        try:
            user, token = accounts.create_user(
                session,
                keystore=runtime.keystore,
                practice_id=chosen[0].id,
                email=email,
                display_name=name,
                role=Role(role),
                actor="cli",
            )
        except accounts.AccountError as exc:
            typer.echo(f"sotto: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(
        f"Created {role} account {user.id}. Enrolment link (one use, 72 hours):\n"
        f"  {runtime.settings.public_url}/enrol/{token}"
    )


@audit_app.command("verify")
def verify_audit() -> None:
    """Walk the hash-chained audit log and report the first broken link, if any (exit 1)."""
    from sotto.audit.service import verify_chain
    from sotto.db import session_scope

    runtime = _runtime()
    with session_scope(runtime.sessions) as session:
        report = verify_chain(session, keystore=runtime.keystore)
    if report.ok:
        typer.echo(f"audit log intact: {report.entries} entries")
        return
    typer.echo(
        f"audit log BROKEN at entry {report.first_broken_seq}: {report.problem} "
        f"({report.entries} entries verified before it)"
    )
    raise typer.Exit(1)


@mail_app.command("retry-failed")
def retry_failed_mail() -> None:
    """Try again to deliver every message that ran out of attempts (after fixing the mail settings)."""
    from sotto.db import session_scope
    from sotto.mail.service import retry_failed

    runtime = _runtime()
    with session_scope(runtime.sessions) as session:
        count = retry_failed(session)
    typer.echo(f"{count} message(s) will be retried by the running server's workers")


@keys_app.command("rotate")
def rotate_keys() -> None:
    """Re-wrap every data key under a new key-encryption key and retire the old ones.

    Nothing is re-encrypted. Best run with the server stopped. Afterwards, database backups
    made earlier can be read only with a copy of the key file made before the rotation.
    """
    from sotto.crypto.keystore import KeyStoreError
    from sotto.crypto.rotation import RotationError
    from sotto.crypto.rotation import rotate_keys as rotate

    runtime = _runtime()
    try:
        report = rotate(runtime.sessions, runtime.keystore)
    except (KeyStoreError, RotationError) as exc:
        typer.echo(f"sotto: key rotation did not finish: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"re-wrapped {report.data_keys} data key(s) and {report.sealed_values} sealed value(s) "
        f"under new key {report.new_kek_id}; retired {len(report.retired)} old key(s)"
    )


@app.command("check-config")
def check_config() -> None:
    """Read the settings and report any problem, without starting anything."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"sotto: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"configuration is valid; data in {settings.data_dir}, keys in {settings.key_file}")


def main() -> None:  # pragma: no cover
    sys.exit(app())
