"""Theano's ``theano.sandbox`` path, for the one name tutorials import from it (``rng_mrg``)."""
