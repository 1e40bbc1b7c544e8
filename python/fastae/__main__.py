"""`python -m fastae ...`: the same as the `fastae` command."""

import sys

from .cli import main

sys.exit(main())
