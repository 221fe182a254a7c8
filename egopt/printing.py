"""``egopt.printing`` (Theano's ``theano.printing``): pp, debugprint, Print, pydotprint."""
from .lang.printing import Print, debugprint, dprint, pp, pydotprint, to_dot  # noqa: F401
from .lang.printing import pp as pprint  # noqa: F401
