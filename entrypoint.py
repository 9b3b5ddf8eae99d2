"""The container action's entrypoint: hand over to `deployer.action.main` and exit with its code."""

import sys

from deployer.action import main

if __name__ == "__main__":
    sys.exit(main())
