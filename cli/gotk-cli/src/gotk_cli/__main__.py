"""`gotk` / `python -m gotk_cli`."""

import sys

from gotk_cli.app import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
