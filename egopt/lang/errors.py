"""The error hierarchy. Messages name the op, the input types/shapes and the user's line."""
from __future__ import annotations


class EgoptError(Exception):
    """Base of all errors raised by egopt."""


class ShapeError(EgoptError, ValueError):
    """Shapes that do not fit an op (at build time from static shapes, or at run time)."""


class EgoptTypeError(EgoptError, TypeError):
    """Dtypes or ndims that do not fit an op."""


class MissingField(EgoptError, NotImplementedError):
    """An op definition lacks a field some stage needs (gradient, kernel, SymPy name)."""


class UnusedInputError(EgoptError, ValueError):
    """An explicit input of ``function`` that no output depends on."""


class MissingInputError(EgoptError, ValueError):
    """An output depends on a variable that is neither an input nor computable."""


class DisconnectedInputError(EgoptError, ValueError):
    """``grad`` was asked for a variable the cost does not depend on."""


class OpRuntimeError(EgoptError, RuntimeError):
    """An op failed while running; the message names op, inputs and the user's line."""
