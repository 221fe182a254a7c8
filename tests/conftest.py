import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=300, deadline=None,
                          suppress_health_check=list(HealthCheck), derandomize=True)
settings.register_profile("slow", max_examples=5000, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("EGOPT_HYPOTHESIS_PROFILE", "default"))


# One switch runs the suite on either linker: `pytest --linker=py` (or EGOPT_TEST_LINKER=py).
# It sets config.linker, which every mode with linker "auto" (FAST_RUN, the default) follows;
# `--linker=c` also runs FAST_COMPILE (no optimizer: the kernels see the graphs as written) on C.
def pytest_addoption(parser):
    parser.addoption("--linker", choices=("auto", "c", "py"), default=os.environ.get("EGOPT_TEST_LINKER", "auto"),
                     help="the linker FAST_RUN and default-mode functions use in this run")


def pytest_configure(config):
    import egopt
    from egopt.runtime import mode
    linker = config.getoption("--linker")
    # the suite tests the optimizer itself (monkeypatched engines, phase limits): a graph optimized
    # by an earlier test or run must not stand in for it. tests/runtime/test_graph_cache.py turns
    # the graph cache on, in a temporary directory.
    egopt.config.graph_cache = False
    egopt.config.linker = linker
    if linker == "c":
        mode.PREDEFINED["FAST_COMPILE"] = mode.Mode(None, "c", name="FAST_COMPILE")
