"""The `scenic` command line: a thin typer layer over library functions. Heavy imports happen inside commands."""

from __future__ import annotations

import sys

import typer

from scenic import __version__

app = typer.Typer(
    name="scenic", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="SCENIC: structured-command language models for edge devices.\n\n"
         "Stages: data -> train -> compress -> export -> evaluate -> profile; `pipeline` runs them from a recipe.\n\n"
         "In a home: `home import` (from Home Assistant), `run`, `serve` (Wyoming / HTTP).",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scenic {__version__}")
        raise typer.Exit()


_options = {"debug": False}  # set by the root options, read by main() when a command fails


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="On an error, also print the Python traceback."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Load checkpoints and exports without checking their "
                                                              "files against manifest.json (faster; for trusted files)."),
) -> None:
    _options["debug"] = debug
    if no_verify:
        from scenic.artifacts import verification

        ctx.with_resource(verification(False))


def _register() -> None:
    from scenic.cli import compress, data, evaluate, export, home, pipeline, profile, run, serve, train

    app.add_typer(data.app, name="data", help="Generate, import and inspect datasets.")
    for module in (train, compress, export, evaluate, profile, run, pipeline, serve, home):
        module.register(app)


_register()


def main() -> None:
    """Entry point and the CLI's one error boundary: whatever goes wrong becomes one line on stderr and a non-zero
    exit code (2 for bad input, files or machine; 1 for a bug; 130 Ctrl-C; 143 SIGTERM), never a traceback unless
    `scenic --debug`. See scenic/cli/errors.py."""
    from scenic.cli import errors

    _options["debug"] = False
    try:
        with errors.sigterm_raises():
            rv = app(standalone_mode=False)
    except SystemExit:
        raise
    except BaseException as err:  # the boundary: KeyboardInterrupt and SIGTERM included
        sys.exit(errors.report(err, _options["debug"]))
    code = rv if isinstance(rv, int) else 0  # typer turns Ctrl-C into a returned 130 when not standalone
    if code == errors.EXIT_INTERRUPTED:
        typer.echo("interrupted", err=True)
    if code:
        sys.exit(code)
