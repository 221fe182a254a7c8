"""Theano's ``theano.tests`` path, for op tests written against it (``unittest_tools``)."""
from . import unittest_tools  # noqa: F401
