"""Print one scenario's wrk Lua script for a running instancemock, for measurements by hand.

    PYTHONPATH=bench .venv/bin/python -m harness.script kianda-put http://127.0.0.1:PORT > put.lua
    LUA=put.lua bench/cpu_per_request.sh PID http://127.0.0.1:PORT

The script is built as `bench/run` builds it before each run (credentials from the server, the
versioned PUT with each instance's current version), so build it again before each measurement:
Kianda tokens live 299 s, and a PUT moves the versions on.
"""

from __future__ import annotations

import sys

from .client import Logins
from .scenarios import SCENARIOS


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    name, base = argv
    by_name = {scenario.name: scenario for scenario in SCENARIOS}
    if name not in by_name:
        print(f"unknown scenario {name!r}; one of: {', '.join(by_name)}", file=sys.stderr)
        return 2
    print(by_name[name].script(Logins(base.rstrip("/"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
