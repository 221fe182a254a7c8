"""Run every benchmark and print the tables (``egopt bench``)."""
from __future__ import annotations

import platform
import sys


def main() -> int:
    from bench import compile_time
    print(f"egopt bench on {platform.machine()} {platform.python_version()}, "
          f"{__import__('os').cpu_count()} cores")
    print(compile_time.format_rows(compile_time.run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
