"""``python -m anaconda_anon_usage`` is the command-line tool."""

import sys

from .cli import main

sys.exit(main())
