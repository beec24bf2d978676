"""The `patchlint` command's entry point: a check asked before, of inputs that have not
changed, is answered from what it printed then (patchlint.answers); everything else goes to
the command line proper (patchlint.cli), imported only then."""

from __future__ import annotations

import os
import sys


def main() -> None:
    from patchlint import answers

    try:
        key = answers.request_key(sys.argv[1:])
        found = answers.recall(key) if key is not None else None
    except Exception:  # noqa: BLE001 - an answer that cannot be given is a check to run, never a traceback
        key = found = None
    if key is not None:
        if found is not None:
            try:
                sys.stderr.write(found.stderr)
                sys.stdout.write(found.stdout)
                sys.stdout.flush()
            except BrokenPipeError:
                # the reader went away (`| head`), as patchlint.cli treats it
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(0)
            except (OSError, UnicodeError) as exc:
                # a full disk, an encoding that cannot print the report: one line, as patchlint.cli
                # renders every error, never a traceback and never "findings" (1)
                sys.stderr.write(f"patchlint: cannot write the report: {exc.__class__.__name__}: {exc}\n")
                sys.exit(2)
            sys.exit(found.code)
        answers.expect(key)
    from patchlint.cli import main as cli_main

    cli_main()
