"""Only the package list lives here: the found ``egopt*`` packages plus ``egopt.builtin_rules``,
which is the repository's ``rules/`` directory (mapped in pyproject.toml), so the built-in
rule library ships in wheels. Everything else is in pyproject.toml."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["egopt", "egopt.*"]) + ["egopt.builtin_rules"])
