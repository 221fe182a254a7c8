"""The ``egopt`` command: ``egopt demo``, ``egopt --version`` (and more sub-commands as they land)."""
from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from .demo import run
    return run(quick=args.quick, out_dir=args.out)


def _schema(args) -> int:
    from .rules import schema
    print(schema(), end="")
    return 0


def _check_rules(args) -> int:
    from .rules import builtin, load
    from .rules.soundness import check
    rs = builtin()
    if args.paths:
        rs = load(args.paths[0])
        for p in args.paths[1:]:
            rs = rs + load(p)
    report = check(rs)
    print(report)
    return 0 if report.ok else 1


def _cache(args) -> int:
    from . import config
    from .codegen import cache
    if args.action == "info":
        print(cache.usage())
        print(f"limit: {config.compiledir_max_mb} MB (egopt.config.compiledir_max_mb; 0 = none)")
    elif args.action == "prune":
        mb = config.compiledir_max_mb if args.max_mb is None else args.max_mb
        print(cache.prune(max_bytes=mb * 2**20, recent_s=0 if args.max_mb is not None else cache.RECENT_S))
    else:
        print(cache.prune(max_bytes=0, recent_s=0))
    return 0


def _bench(args, extra: list[str]) -> int:
    import os
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    if not (root / "bench" / "run.py").exists():
        print("egopt bench: the benchmark suite lives in the source tree (bench/); run it from a "
              "checkout: make bench", file=sys.stderr)
        return 2
    sys.path.insert(0, str(root))
    os.chdir(root)
    from bench.run import main as bench_main
    return bench_main(extra)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = argparse.ArgumentParser(prog="egopt", description="egopt: an e-graph tensor compiler")
    p.add_argument("--version", action="version", version=f"egopt {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("demo", help="train a softmax regression and a convnet on handwritten digits")
    d.add_argument("--quick", action="store_true", help="a few epochs only (for CI)")
    d.add_argument("--out", default="egopt-demo", help="folder for the pictures (default: egopt-demo)")
    d.set_defaults(func=_demo)
    s = sub.add_parser("schema", help="print the e-graph schema that .egg rule files are written in")
    s.set_defaults(func=_schema)
    c = sub.add_parser("check-rules", help="prove rules sound with SymPy (the built-in library by default)")
    c.add_argument("paths", nargs="*", help=".egg or .py rule files or directories")
    c.set_defaults(func=_check_rules)
    k = sub.add_parser("cache", help="the compiled-kernel and graph cache (config.compiledir): info, prune, clear")
    k.add_argument("action", nargs="?", choices=("info", "prune", "clear"), default="info",
                   help="info (default): entries and size; prune: remove the least recently used "
                        "down to the limit; clear: remove every entry")
    k.add_argument("--max-mb", type=int, default=None,
                   help="prune to this many MB instead of config.compiledir_max_mb (entries used in "
                        "the last hour included)")
    k.set_defaults(func=_cache)
    b = sub.add_parser("bench", add_help=False,   # its options (--only, --quick, --help) are bench/run.py's
                       help="run the benchmark suite (ratios against NumPy/PyTensor/JAX); egopt bench --help")
    b.set_defaults(func=_bench, passes_extra=True)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "passes_extra", False):
        return int(args.func(args, extra) or 0)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return int(args.func(args) or 0)
