"""conv2d and its two gradients on the GPU through CuPy: the arithmetic of egopt/lang/conv.py
(im2col by one strided copy per filter tap, then one batched GEMM, cuBLAS through
``cupy.matmul``) run with CuPy as the array module. cuDNN is not used. Entries of
cuda_program.DEVICE_OPS: ``fn(cupy, params, *args)``.
"""
from __future__ import annotations

from ..lang.conv import conv2d_forward, conv2d_grad_filters, conv2d_grad_inputs

CONV_OPS = {"conv2d": conv2d_forward, "conv2d_grad_filters": conv2d_grad_filters,
            "conv2d_grad_inputs": conv2d_grad_inputs}
