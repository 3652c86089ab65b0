"""``python -m m2m_bench.construct`` = ``m2m-bench construct``."""

import sys

from ..cli import run_main
from .cli import main

sys.exit(run_main(main, sys.argv[1:]))
