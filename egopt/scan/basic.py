"""PyTensor's ``pytensor.scan.basic`` path."""
from ..lang.scan import scan  # noqa: F401
