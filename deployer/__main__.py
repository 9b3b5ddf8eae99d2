"""`python -m deployer …`"""

from __future__ import annotations

import sys

from deployer.cli import main

if __name__ == "__main__":
    sys.exit(main())
