"""PyTensor's ``pytensor.scan.utils`` path (``until``)."""
from ..lang.scan import until  # noqa: F401
