"""``theano.sparse`` / ``pytensor.sparse``: egopt has no sparse tensors. Importing this module
raises an ImportError that says so (a program that needs sparse matrices cannot run silently
on dense ones)."""
raise ImportError("egopt has no sparse tensors (theano.sparse / pytensor.sparse): use dense tensors "
                  "(T.matrix) and scipy.sparse outside the graph; see docs/theano-differences.md")
