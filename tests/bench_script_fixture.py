"""A stand-in for a script workload (tests/test_bench.py): prints what the bench hook gave it."""
import os
import sys

if __name__ == "__main__":
    print(f"args {sys.argv[1:]} quick {os.environ.get('EGOPT_BENCH_QUICK')} "
          f"threads {os.environ.get('EGOPT_BENCH_THREADS')}")
