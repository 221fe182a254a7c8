"""PyTensor's ``pytensor.scan.views`` path."""
from ..lang.scan import foldl, foldr, map, reduce  # noqa: F401
