import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=300, deadline=None,
                          suppress_health_check=list(HealthCheck), derandomize=True)
settings.register_profile("slow", max_examples=5000, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("EGOPT_HYPOTHESIS_PROFILE", "default"))
