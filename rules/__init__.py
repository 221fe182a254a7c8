"""The built-in rule library; installed as the package ``egopt.builtin_rules``."""
