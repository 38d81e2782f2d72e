"""The `sotto` command: run the server, manage accounts and keys, check the audit log."""

from __future__ import annotations

import io
import sys
from typing import Annotated, Any, BinaryIO

import typer

from sotto.config import Settings, SettingsError, get_settings, load_settings

app = typer.Typer(
    help="Sotto: consent-first recording and AI review for psychotherapists.",
    no_args_is_help=True,
    add_completion=False,
    # An error's local variables may hold a transcript: never print them (older Typer did by default).
    pretty_exceptions_show_locals=False,
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
    from sotto.crypto.keystore import KeyStoreError
    from sotto.runtime import build_runtime

    try:
        return build_runtime(get_settings())
    except (SettingsError, KeyStoreError) as exc:
        typer.echo(f"sotto: {exc}", err=True)
        raise typer.Exit(2) from None


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
        **server_options(runtime.settings),
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for Sotto: Sotto's own logging, no server banner, and a client's address
    taken from a proxy's headers only when the practice named that proxy (``trusted_proxies``)."""
    return {
        "log_config": None,
        "access_log": True,
        "server_header": False,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
    }


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
    """Walk the hash-chained audit log and report the first broken link, if any (exit 1).

    An intact log's newest entry then becomes its anchor, kept with the keys outside the
    database, as the server's sweep does; a broken log's anchor is left where it was.
    """
    from sotto.audit.service import verify_and_anchor
    from sotto.crypto.keystore import KeyStoreError

    runtime = _runtime()
    try:
        report = verify_and_anchor(runtime.read_sessions, keystore=runtime.keystore)
    except (KeyStoreError, OSError) as exc:
        typer.echo(f"sotto: the audit log could not be verified and anchored: {exc}", err=True)
        raise typer.Exit(1) from None
    if report.ok:
        anchored = f"; anchored outside the database up to entry {report.anchored_seq}" if report.anchored_seq else ""
        typer.echo(f"audit log intact: {report.entries} entries{anchored}")
        if report.notice:
            typer.echo(f"note: {report.notice}")
        return
    where = f" at entry {report.first_broken_seq}" if report.first_broken_seq is not None else ""
    typer.echo(f"audit log BROKEN{where}: {report.problem} ({report.entries} entries verified before it)")
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


@app.command()
def process(
    audio: Annotated[str, typer.Argument(help="A recording: WAV, FLAC, MP3, M4A, Ogg or WebM.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    speakers: Annotated[
        int, typer.Option(min=1, max=8, help="People in the session (on two channels, extras share the call).")
    ] = 2,
    model_dir: Annotated[str, typer.Option(help="A CTranslate2 Whisper model directory.")] = "",
    therapist_voice: Annotated[
        str, typer.Option(help="A recording of the therapist alone, to tell who is the therapist.")
    ] = "",
    max_hours: Annotated[
        float, typer.Option(min=0.01, max=24, help="Refuse recordings longer than this (hours).")
    ] = 4.0,
) -> None:
    """Transcribe one recording, label the speakers, remove identifiers and print the transcript.

    Progress goes to standard error. Exit status: 0 done; 1 the recording cannot be used
    (damaged, cut off, not audio, too long); 2 bad arguments; 3 no speech was found (the
    empty transcript is still printed).
    """
    import json
    import time

    from sotto.pipeline.decode import AudioSource, decode_recording
    from sotto.pipeline.progress import ProgressBar
    from sotto.pipeline.redaction import PrivacyEngineRedactor, TranscriptRedactor
    from sotto.pipeline.render import as_dict, as_text
    from sotto.pipeline.service import PipelineOptions, run_pipeline
    from sotto.pipeline.stages import PipelineError
    from sotto.pipeline.transcribe import WhisperSettings
    from sotto.pipeline.voice import VoiceProfile, profile_from_samples
    from sotto.privacy.sentence_model import SentenceModelMissing
    from sotto.recording.audio import AudioProblem, probe_audio

    def fail(message: str, code: int) -> typer.Exit:
        typer.echo(f"sotto: {message}", err=True)
        return typer.Exit(code)

    profile: VoiceProfile | None = None
    if therapist_voice:
        try:
            with _open_recording(therapist_voice) as sample:
                samples = decode_recording(sample, mono=True, max_seconds=600)[0]
            profile = profile_from_samples(samples)
        except OSError as exc:
            raise fail(f"cannot read {therapist_voice}: {exc.strerror}", 2) from None
        except (PipelineError, ValueError) as exc:
            raise fail(f"{therapist_voice}: {exc}", 2) from None
    try:
        recording = _open_recording(audio)
    except OSError as exc:
        raise fail(f"cannot read {audio}: {exc.strerror}", 2) from None
    _utf8_stdout()
    with recording:
        began = time.perf_counter()
        try:
            probe_audio(recording, max_seconds=max_hours * 3600)
        except AudioProblem as exc:
            raise fail(exc.message, 1) from None
        checked = time.perf_counter() - began
        redactor: TranscriptRedactor
        try:
            redactor = PrivacyEngineRedactor()
        except (ImportError, SentenceModelMissing) as exc:
            # Never print a transcript that nothing was removed from: no privacy engine, no transcript.
            raise fail(f"the privacy engine cannot load ({exc}); nothing was transcribed", 2) from None
        options = PipelineOptions(
            whisper=WhisperSettings(model_dir=model_dir),
            speakers=speakers,
            therapist_voice=profile,
            redactor=redactor,
            max_seconds=max_hours * 3600,
        )
        bar = ProgressBar(sys.stderr)
        try:
            result = run_pipeline([AudioSource(recording)], options=options, progress=bar)
        except PipelineError as exc:
            bar.close()
            raise fail(exc.message, 1) from None
        bar.close()
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    timings = {"check": checked, **result.timings}
    if as_json:
        typer.echo(json.dumps(as_dict(result.transcript, timings=timings), ensure_ascii=False))
    elif result.transcript.segments:
        typer.echo(as_text(result.transcript))
    if not result.transcript.segments:
        raise fail("no speech was found in the recording (was the microphone muted?)", 3)


def _utf8_stdout() -> None:
    """Write standard output as UTF-8 whatever the locale says. A transcript may hold any character
    (Zoë, an emoji, a Chinese name, a pound sign): a Latin-1 or ASCII locale would stop on it with
    an error, or spell it in bytes no UTF-8 reader (a JSON Lines consumer) can read."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8", errors="strict")


def _open_recording(path: str) -> BinaryIO:
    """The recording at ``path``, to be read more than once. A pipe (``<(gpg -d ...)``) is read
    into memory: asking for a file instead would ask for the decrypted recording on disk."""
    file = open(path, "rb")  # noqa: SIM115 - the caller holds it open across the checks
    if file.seekable():
        return file
    with file:
        return io.BytesIO(file.read())


@app.command("redact")
def redact(
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Read sessions as JSON Lines, one per line; write one redacted line each.")
    ] = False,
    keep_phi: Annotated[
        bool, typer.Option("--keep-identifiers", help="Leave identifiers in; remove topics only.")
    ] = False,
    topics: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated topics to remove (criminal, immigration, sogi, trauma, substance, health; "
            "default all)."
        ),
    ] = None,
    name_category: Annotated[
        bool, typer.Option("--name-category", help="Markers name the removed topic instead of a neutral marker.")
    ] = False,
) -> None:
    """Remove identifiers and sensitive passages from transcripts on standard input.

    With --jsonl each input line is {"id": ..., "turns": [{"speaker": ..., "text": ...}]} and each
    output line is the same session, turns redacted. Blank lines are skipped; the first line that
    is not a session stops the run with exit status 2 and its line number on stderr (sessions
    before it have been written). Without --jsonl, standard input is one session, a turn a line.
    """
    from sotto.privacy.engine import Redactor
    from sotto.privacy.jsonl import SessionError, redact_lines
    from sotto.privacy.sentence_model import SentenceModelMissing
    from sotto.privacy.settings import TOPICS, PrivacySettings

    chosen = TOPICS if topics is None else frozenset(t.strip() for t in topics.split(",") if t.strip())
    try:
        settings = PrivacySettings(phi_removal=not keep_phi, topics=chosen, marker_names_category=name_category)
    except ValueError as exc:
        typer.echo(f"sotto redact: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        redactor = Redactor()
    except SentenceModelMissing as exc:
        typer.echo(f"sotto redact: {exc}", err=True)
        raise typer.Exit(2) from None
    if sys.stdin is None:  # started with standard input closed (<&-)
        typer.echo("sotto redact: standard input is closed; give the transcripts on standard input", err=True)
        raise typer.Exit(2)
    # UTF-8 whatever the locale says (a byte order mark that a Windows editor put first is skipped);
    # bytes that are not UTF-8 arrive as lone surrogates and are refused. Only "\n" ends a JSON Lines
    # record: a "\r" between JSON tokens is whitespace, not a line break.
    stdin = io.TextIOWrapper(
        sys.stdin.buffer, encoding="utf-8-sig", errors="surrogateescape", newline="\n" if jsonl else None
    )
    _utf8_stdout()
    if jsonl:
        try:
            redact_lines(stdin, sys.stdout, redactor, settings)
        except SessionError as exc:
            typer.echo(f"sotto redact: {exc}", err=True)
            raise typer.Exit(2) from None
        return
    given = stdin.read()
    try:
        given.encode("utf-8")
    except UnicodeEncodeError:
        typer.echo("sotto redact: standard input is not UTF-8 text", err=True)
        raise typer.Exit(2) from None
    # A turn a line: a form feed or a Unicode line separator inside a turn stays in it (splitlines would
    # make two turns of it and drop the character).
    lines = given.split("\n")
    if lines[-1] == "":
        lines.pop()
    result = redactor.redact_turns([("", line) for line in lines], settings)
    for text in result.texts:
        typer.echo(text)


def main() -> None:  # pragma: no cover
    sys.exit(app())
