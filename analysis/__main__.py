"""``python -m analysis OUT.h5 [...]``: same as ``analyze`` (see :mod:`analysis.cli`)."""

import sys

from analysis.cli import build_parser, run

sys.exit(run(build_parser(prog="python -m analysis").parse_args()))
