"""The call path into kernels: one small generic CPython extension, compiled once and cached.

``call(fnptr, spec, inputs)`` broadcasts the input arrays' shapes (with the static-broadcast
check of the NumPy linker), allocates the outputs, computes the byte strides of every buffer
over the index space and calls the kernel through its plain C ABI (render_c.py). A ctypes
version of the same thing (``py_call``) is the fallback where Python's headers are missing; it
is ~10x slower per call, which only tiny arrays notice.

``spec`` is an int64 array, as bytes: ndim, nin, nout, reduced-axes bitmask, keepdims, then one
NumPy type number per output and one static-broadcast bitmask per input.
"""
from __future__ import annotations

import ctypes
import functools
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import warnings

import numpy as np

SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <Python.h>
#include <numpy/arrayobject.h>
#include <stdint.h>

#define MAXD 32
#define MAXB 256
typedef int (*kernel_t)(const int64_t *, char **, const int64_t *);
static PyObject *BroadcastError, *EmptyReduceError;

static PyObject *call(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 3 || nargs > 4 || !PyBytes_Check(args[1]) || !PyTuple_Check(args[2])
        || (nargs == 4 && !PyTuple_Check(args[3]))) {
        PyErr_SetString(PyExc_TypeError, "call(fnptr, spec: bytes, inputs: tuple[, outs: tuple])");
        return NULL;
    }
    kernel_t fn = (kernel_t)PyLong_AsVoidPtr(args[0]);
    if (fn == NULL && PyErr_Occurred()) return NULL;
    const int64_t *spec = (const int64_t *)PyBytes_AS_STRING(args[1]);
    const int d = (int)spec[0], nin = (int)spec[1], nout = (int)spec[2];
    const int64_t redmask = spec[3], keepdims = spec[4];
    const int64_t *typenums = spec + 5, *bmask = spec + 5 + nout;
    PyObject *ins = args[2];
    if (PyTuple_GET_SIZE(ins) != nin || d > MAXD || nin + nout > MAXB) {
        PyErr_SetString(PyExc_ValueError, "kernel call: wrong number of inputs");
        return NULL;
    }
    int64_t shape[MAXD];
    for (int a = 0; a < d; a++) shape[a] = 1;
    PyArrayObject *arrs[MAXB];
    for (int i = 0; i < nin; i++) {
        PyObject *o = PyTuple_GET_ITEM(ins, i);
        if (!PyArray_Check(o)) { PyErr_SetString(PyExc_TypeError, "kernel input is not an ndarray"); return NULL; }
        PyArrayObject *x = (PyArrayObject *)o;
        arrs[i] = x;
        const int nd = PyArray_NDIM(x), lead = d - nd;
        const npy_intp *dims = PyArray_DIMS(x);
        if (lead < 0) { PyErr_SetString(PyExc_ValueError, "kernel input has too many axes"); return NULL; }
        for (int a = 0; a < nd; a++) {
            const int64_t s = dims[a];
            if (s == 1) continue;
            if (shape[lead + a] == 1) shape[lead + a] = s;
            else if (shape[lead + a] != s) {
                PyErr_SetObject(BroadcastError, Py_BuildValue("(iiiL)", 0, i, lead + a, (long long)s));
                return NULL;
            }
        }
    }
    int64_t st[MAXB * 4];
    int64_t *strides = st;
    if ((nin + nout) * d > MAXB * 4) { PyErr_SetString(PyExc_ValueError, "too many buffers"); return NULL; }
    char *data[MAXB];
    for (int i = 0; i < nin; i++) {
        PyArrayObject *x = arrs[i];
        const int nd = PyArray_NDIM(x), lead = d - nd;
        const npy_intp *dims = PyArray_DIMS(x), *xs = PyArray_STRIDES(x);
        data[i] = PyArray_BYTES(x);
        for (int a = 0; a < d; a++) {
            int64_t s = 0;
            if (a >= lead) {
                if (dims[a - lead] == 1) {
                    if (shape[a] != 1 && !((bmask[i] >> a) & 1)) {
                        PyErr_SetObject(BroadcastError, Py_BuildValue("(iiiL)", 1, i, a, (long long)shape[a]));
                        return NULL;
                    }
                } else s = xs[a - lead];
            }
            strides[i * d + a] = s;
        }
    }
    npy_intp odims[MAXD];
    int ond = 0;
    for (int a = 0; a < d; a++) {
        if ((redmask >> a) & 1) { if (keepdims) odims[ond++] = 1; }
        else odims[ond++] = shape[a];
    }
    PyObject *result = PyTuple_New(nout);
    if (!result) return NULL;
    PyObject *given = nargs == 4 ? args[3] : NULL;
    for (int j = 0; j < nout; j++) {
        PyArrayObject *y = NULL;
        if (given && j < PyTuple_GET_SIZE(given) && PyArray_Check(PyTuple_GET_ITEM(given, j))) {
            /* a buffer to write into (an in-place update): used only if it fits exactly */
            PyArrayObject *g = (PyArrayObject *)PyTuple_GET_ITEM(given, j);
            int fits = PyArray_NDIM(g) == ond && PyArray_TYPE(g) == (int)typenums[j]
                       && PyArray_ISWRITEABLE(g) && PyArray_ISALIGNED(g) && PyArray_ISNOTSWAPPED(g);
            for (int a = 0; fits && a < ond; a++) fits = PyArray_DIMS(g)[a] == odims[a];
            if (fits) { Py_INCREF(g); y = g; }
        }
        if (!y) y = (PyArrayObject *)PyArray_SimpleNew(ond, odims, (int)typenums[j]);
        if (!y) { Py_DECREF(result); return NULL; }
        PyTuple_SET_ITEM(result, j, (PyObject *)y);
        const int b = nin + j;
        data[b] = PyArray_BYTES(y);
        const npy_intp *ys = PyArray_STRIDES(y);
        int k = 0;
        for (int a = 0; a < d; a++) {
            if ((redmask >> a) & 1) { strides[b * d + a] = 0; if (keepdims) k++; }
            else strides[b * d + a] = ys[k++];
        }
    }
    int64_t n = 1;
    for (int a = 0; a < d; a++) n *= shape[a];
    int rc;
    if (n > 32768) {
        Py_BEGIN_ALLOW_THREADS
        rc = fn(shape, data, strides);
        Py_END_ALLOW_THREADS
    } else rc = fn(shape, data, strides);
    if (rc != 0) {
        Py_DECREF(result);
        PyErr_SetObject(EmptyReduceError, PyLong_FromLong(rc));
        return NULL;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"call", (PyCFunction)(void (*)(void))call, METH_FASTCALL, "call(fnptr, spec, inputs) -> outputs"},
    {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "%(name)s", NULL, -1, methods};

PyMODINIT_FUNC PyInit_%(name)s(void) {
    import_array();
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    BroadcastError = PyErr_NewException("egopt.BroadcastError", PyExc_ValueError, NULL);
    EmptyReduceError = PyErr_NewException("egopt.EmptyReduceError", PyExc_ValueError, NULL);
    PyModule_AddObject(m, "BroadcastError", BroadcastError);
    PyModule_AddObject(m, "EmptyReduceError", EmptyReduceError);
    return m;
}
"""


class BroadcastError(ValueError):
    """args: (kind, input, axis, size): kind 0 = sizes differ, 1 = a size-1 axis that is not
    statically broadcastable meets a longer one."""


class EmptyReduceError(ValueError):
    """A max/min over no element."""


def _pack_spec(ndim: int, nin: int, nout: int, redmask: int, keepdims: bool, typenums, bmasks) -> bytes:
    return np.array([ndim, nin, nout, redmask, int(keepdims), *typenums, *bmasks], dtype=np.int64).tobytes()


def spec_for(kernel, keepdims: bool) -> bytes:
    redmask = sum(1 << a for a in kernel.reduce.axes) if kernel.reduce else 0
    typenums = [np.dtype(b.dtype).num for b, _ in kernel.outputs]
    bmasks = [sum(1 << a for a, f in enumerate(b.broadcast) if f) for b in kernel.inputs]
    return _pack_spec(kernel.ndim, len(kernel.inputs), len(kernel.outputs), redmask, keepdims,
                      typenums, bmasks)


def py_call(fnptr: int, spec: bytes, inputs: tuple, given: tuple = ()) -> tuple:
    """The ctypes version of the extension's ``call`` (same semantics, slower)."""
    s = np.frombuffer(spec, dtype=np.int64)
    d, nin, nout, redmask, keepdims = (int(v) for v in s[:5])
    typenums, bmask = s[5:5 + nout], s[5 + nout:]
    shape = [1] * d
    for i, x in enumerate(inputs):
        lead = d - x.ndim
        for a, size in enumerate(x.shape):
            if size == 1:
                continue
            if shape[lead + a] == 1:
                shape[lead + a] = size
            elif shape[lead + a] != size:
                raise BroadcastError(0, i, lead + a, size)
    strides = []
    for i, x in enumerate(inputs):
        lead = d - x.ndim
        for a in range(d):
            st = 0
            if a >= lead:
                if x.shape[a - lead] == 1:
                    if shape[a] != 1 and not (int(bmask[i]) >> a) & 1:
                        raise BroadcastError(1, i, a, shape[a])
                else:
                    st = x.strides[a - lead]
            strides.append(st)
    oshape = [1 if (redmask >> a) & 1 else shape[a] for a in range(d) if keepdims or not (redmask >> a) & 1]
    outs = []
    for j in range(nout):
        dt = np.dtype(_TYPES[int(typenums[j])])
        g = given[j] if j < len(given) else None
        fits = (isinstance(g, np.ndarray) and g.shape == tuple(oshape) and g.dtype == dt
                and g.flags.writeable and g.flags.aligned)
        y = g if fits else np.empty(oshape, dtype=dt)
        outs.append(y)
        k = 0
        for a in range(d):
            if (redmask >> a) & 1:
                strides.append(0)
                k += keepdims
            else:
                strides.append(y.strides[k])
                k += 1
    bufs = list(inputs) + outs
    fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(fnptr)
    rc = fn((ctypes.c_int64 * max(d, 1))(*shape),
            (ctypes.c_void_p * len(bufs))(*[b.ctypes.data for b in bufs]),
            (ctypes.c_int64 * max(len(strides), 1))(*strides))
    if rc != 0:
        raise EmptyReduceError(rc)
    return tuple(outs)


_TYPES = {np.dtype(t).num: t for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                       "uint32", "uint64", "float32", "float64", "longlong", "ulonglong")}


@functools.lru_cache(maxsize=None)
def load():
    """(call, BroadcastError, EmptyReduceError): the extension's, or the ctypes fallback's."""
    from .cache import cache_key, cached_build
    from .compile import compiler_version, find_compiler, CompilerError
    cc = find_compiler()
    include = sysconfig.get_paths().get("include", "")
    if cc is None or not os.path.isfile(os.path.join(include, "Python.h")):
        return py_call, BroadcastError, EmptyReduceError
    key = cache_key(SOURCE, sys.version, np.__version__, compiler_version(cc), "trampoline-2")
    name = f"egopt_tramp_{key[:12]}"
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]

    def build(out: str) -> None:
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, name + ".c")
            with open(src, "w") as f:
                f.write(SOURCE % {"name": name})
            r = subprocess.run([cc, "-O2", "-shared", "-fPIC", f"-I{include}", f"-I{np.get_include()}",
                                src, "-o", out], capture_output=True, text=True)
            if r.returncode != 0:
                raise CompilerError(r.stderr[-3000:])
    try:
        path = cached_build(f"trampoline-{key[:48]}", build, suffix=suffix)
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except Exception as e:        # a broken toolchain: the slower path still works
        warnings.warn(f"egopt: the kernel call extension could not be built ({e}); "
                      f"using ctypes calls (slower per call)", stacklevel=2)
        return py_call, BroadcastError, EmptyReduceError
    return mod.call, mod.BroadcastError, mod.EmptyReduceError
