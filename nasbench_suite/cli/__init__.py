"""The `nasbench-suite` command: the composition root of the program, above the core and the
`strategies`, `analysis` and `live_training` packages (nothing below it imports it). `main` builds the
parser and runs a command; `live`, `oneshot` and `report` hold the bigger commands, `common` what they
share."""

from nasbench_suite.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
