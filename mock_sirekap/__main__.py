"""``python -m mock_sirekap``: see ``mock_sirekap.cli``."""

import sys

from mock_sirekap.cli import main

sys.exit(main(prog="mock_sirekap"))
