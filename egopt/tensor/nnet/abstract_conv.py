"""Theano's ``T.nnet.abstract_conv``: ``conv2d`` and its two gradients as functions."""
from ...lang.conv import conv2d, conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights  # noqa: F401
