"""Run a launcher (``accelerate launch``, torchrun) as a bridge worker's parent.

    python -m hyperwords_bridge.launch_guard PROGRAM [ARGS ...]

A worker started by the bridge ends itself when its parent dies (``events.die_with_parent``,
``HYPERWORDS_PARENT_PID``). Under a launcher the workers' parent is the launcher, not the process
that started it. This guard takes the bridge's parent pid for itself (SIGTERM when that process
dies, which Linux keeps across ``exec``), names its own pid as the parent of what it starts, and
``exec``s the launcher in its place: the launcher keeps the guard's pid, so its workers see their
parent alive, and a dead task still ends the launcher, which passes SIGTERM on to its workers.
"""

from __future__ import annotations

import os
import sys

from . import events


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("launch_guard: name the program to run")
    grace = os.environ.get(events.GRACE_VAR)
    events.die_with_parent()
    os.environ[events.PARENT_PID_VAR] = str(os.getpid())
    if grace is not None:
        os.environ[events.GRACE_VAR] = grace
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
