"""`python -m deployer …`"""

from __future__ import annotations

import os
import sys

from deployer.cli import main


def _exit_now(code: int) -> None:
    """Exit without the interpreter's teardown (~0.1 s of freeing modules): every file is closed by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
