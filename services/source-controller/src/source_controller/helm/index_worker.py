"""`python -m source_controller.helm.index_worker RAW OUT`: compact one index in a child.

Parsing a large index allocates far more than its result; in a child process that memory
goes back to the system when the child exits, instead of staying in the controller's heap.
Exit status 0 prints the stats as JSON; 3 means the index is invalid (message on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from source_controller.helm.index_compact import IndexFormatError, compact_index

EXIT_INVALID_INDEX = 3


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m source_controller.helm.index_worker RAW OUT", file=sys.stderr)
        return 2
    try:
        stats = compact_index(Path(argv[0]), Path(argv[1]))
    except IndexFormatError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID_INDEX
    json.dump(
        {"charts": stats.charts, "versions": stats.versions, "chunked": stats.chunked}, sys.stdout
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
