"""Theano's ``T.signal.conv``: ``conv2d`` of images without channels."""
from ...lang.conv import signal_conv2d as conv2d  # noqa: F401
