"""``python -m bench.reliability``: see :mod:`bench.reliability.run`."""

import sys

from bench.reliability.run import main

sys.exit(main())
