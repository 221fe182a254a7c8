"""The e-graph side: schema, encoding, rule DSL and loaders, phased saturation.

    x, y = rules.pattern_vars("x y")
    rules.rewrite(T.log(1 + x), T.log1p(x), name="log1p", phase="stabilize")
"""
from .dsl import PHASES, Rule, RuleSet, pattern_vars, rewrite  # noqa: F401
from .dsl import in_range, nonnegative, nonzero, positive, real  # noqa: F401
from .loader import RuleFileError, builtin, load  # noqa: F401


def schema() -> str:
    """The egglog schema that ``.egg`` rule files are written against."""
    from .schema import schema_text
    return schema_text()


def check(ruleset):
    """Prove each rule sound (SymPy, then mpmath sampling); see ``egopt.rules.soundness``."""
    from .soundness import check as _check
    return _check(ruleset)
