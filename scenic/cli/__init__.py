"""The `scenic` command line: a thin typer layer over library functions. Heavy imports happen inside commands."""

from __future__ import annotations

import sys

import typer

from scenic import ScenicError, __version__

app = typer.Typer(
    name="scenic", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="SCENIC: structured-command language models for edge devices.\n\n"
         "Stages: data -> train -> compress -> export -> evaluate -> profile; `pipeline` runs them from a recipe.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scenic {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    pass


def _register() -> None:
    from scenic.cli import compress, data, evaluate, export, pipeline, profile, run, train

    app.add_typer(data.app, name="data", help="Generate, import and inspect datasets.")
    for module in (train, compress, export, evaluate, profile, run, pipeline):
        module.register(app)


_register()


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app(standalone_mode=False)
    except ScenicError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as err:  # click usage errors and friends
        import click

        # typer >= 0.22 vendors its own click (typer._click), whose exceptions are not click's
        vendored = getattr(getattr(typer, "_click", None), "exceptions", None)
        usage = (click.exceptions.ClickException,) + ((vendored.ClickException,) if vendored else ())
        if isinstance(err, usage):
            err.show()
            sys.exit(err.exit_code)
        raise
