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

/* ---- BLAS: gemm nodes as one ?gemm / ?gemv call of NumPy's own CBLAS (set_blas) ---------- */
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
typedef void (*sgemm32_t)(int, int, int, int32_t, int32_t, int32_t, float, const float *, int32_t,
                          const float *, int32_t, float, float *, int32_t);
typedef void (*dgemm32_t)(int, int, int, int32_t, int32_t, int32_t, double, const double *, int32_t,
                          const double *, int32_t, double, double *, int32_t);
typedef void (*sgemm64_t)(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t,
                          const float *, int64_t, float, float *, int64_t);
typedef void (*dgemm64_t)(int, int, int, int64_t, int64_t, int64_t, double, const double *, int64_t,
                          const double *, int64_t, double, double *, int64_t);
typedef void (*sgemv32_t)(int, int, int32_t, int32_t, float, const float *, int32_t, const float *,
                          int32_t, float, float *, int32_t);
typedef void (*dgemv32_t)(int, int, int32_t, int32_t, double, const double *, int32_t, const double *,
                          int32_t, double, double *, int32_t);
typedef void (*sgemv64_t)(int, int, int64_t, int64_t, float, const float *, int64_t, const float *,
                          int64_t, float, float *, int64_t);
typedef void (*dgemv64_t)(int, int, int64_t, int64_t, double, const double *, int64_t, const double *,
                          int64_t, double, double *, int64_t);
static void *blas[4];          /* sgemm, dgemm, sgemv, dgemv */
static int blas_ilp64 = 0;

static PyObject *set_blas(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) { PyErr_SetString(PyExc_TypeError, "set_blas(sgemm, dgemm, sgemv, dgemv, ilp64)"); return NULL; }
    for (int i = 0; i < 4; i++) {
        blas[i] = PyLong_AsVoidPtr(args[i]);
        if (PyErr_Occurred()) return NULL;
    }
    blas_ilp64 = PyObject_IsTrue(args[4]);
    Py_RETURN_NONE;
}

/* A matrix operand as BLAS reads it: row-major with leading dimension *ld (*flip = 0), or its
   transpose stored row-major (*flip = 1, contiguous columns); 0 when neither (copy it). */
static int layout(PyArrayObject *x, int64_t *ld, int *flip) {
    const int64_t e = PyArray_ITEMSIZE(x), r = PyArray_DIMS(x)[0], c = PyArray_DIMS(x)[1];
    int64_t s0 = PyArray_STRIDES(x)[0], s1 = PyArray_STRIDES(x)[1];
    if (!PyArray_ISALIGNED(x) || !PyArray_ISNOTSWAPPED(x)) return 0;
    if (c == 1) s1 = e;
    if (r == 1) s0 = c * e;
    if (s1 == e && s0 > 0 && s0 %% e == 0 && s0 / e >= c) { *ld = s0 / e; *flip = 0; return 1; }
    if (c == 1) s1 = r * e;
    if (r == 1) s0 = e;
    if (s0 == e && s1 > 0 && s1 %% e == 0 && s1 / e >= r) { *ld = s1 / e; *flip = 1; return 1; }
    return 0;
}

/* the bytes an array can touch: [*lo, *hi) */
static void extent(PyArrayObject *x, char **lo, char **hi) {
    char *a = PyArray_BYTES(x), *b = a;
    for (int i = 0; i < PyArray_NDIM(x); i++) {
        const npy_intp d = PyArray_DIMS(x)[i], s = PyArray_STRIDES(x)[i];
        if (d == 0) { *lo = *hi = a; return; }
        if (s < 0) a += (d - 1) * s; else b += (d - 1) * s;
    }
    *lo = a; *hi = b + PyArray_ITEMSIZE(x);
}

static int overlap(PyArrayObject *x, PyArrayObject *y) {
    char *xl, *xh, *yl, *yh;
    extent(x, &xl, &xh); extent(y, &yl, &yh);
    return xl < yh && yl < xh;
}

/* gemm(spec, A, B, C or None, out or None) -> alpha * op(A) @ op(B) + beta * C, C broadcast to
   the product's shape; ``out`` is written when it fits exactly (C-contiguous, the dtype, the
   shape): the caller passes C itself for an in-place update. NotImplemented when this path does
   not apply (no BLAS, other dtypes, an empty axis): the caller runs the NumPy perform. spec:
   float64 [typenum, trans_a, trans_b, alpha, beta]. */
static PyObject *gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyBytes_Check(args[0]) || PyBytes_GET_SIZE(args[0]) != 5 * sizeof(double)) {
        PyErr_SetString(PyExc_TypeError, "gemm(spec, A, B, C, out)");
        return NULL;
    }
    const double *spec = (const double *)PyBytes_AS_STRING(args[0]);
    const int typenum = (int)spec[0], ta = spec[1] != 0, tb = spec[2] != 0;
    const double alpha = spec[3];
    double beta = spec[4];
    const int dbl = typenum == NPY_DOUBLE;
    /* alpha = 0: BLAS skips the product, where NaN or inf in A or B must still show */
    if (!blas[0] || (typenum != NPY_DOUBLE && typenum != NPY_FLOAT) || alpha == 0.0) Py_RETURN_NOTIMPLEMENTED;
    PyObject *Co = args[3] == Py_None ? NULL : args[3], *given = args[4];
    for (int i = 1; i < 4; i++) {
        if (i == 3 && !Co) continue;
        if (!PyArray_Check(args[i]) || PyArray_TYPE((PyArrayObject *)args[i]) != typenum) Py_RETURN_NOTIMPLEMENTED;
    }
    PyArrayObject *A = (PyArrayObject *)args[1], *B = (PyArrayObject *)args[2];
    const int vec = PyArray_NDIM(B) == 1;
    if (PyArray_NDIM(A) != 2 || (PyArray_NDIM(B) != 2 && !vec) || (vec && tb)) Py_RETURN_NOTIMPLEMENTED;
    const int64_t m = PyArray_DIMS(A)[ta ? 1 : 0], k = PyArray_DIMS(A)[ta ? 0 : 1];
    const int64_t kb = vec ? PyArray_DIMS(B)[0] : PyArray_DIMS(B)[tb ? 1 : 0];
    const int64_t n = vec ? 1 : PyArray_DIMS(B)[tb ? 0 : 1];
    if (k != kb || m == 0 || n == 0 || k == 0) Py_RETURN_NOTIMPLEMENTED;
    if (!Co || beta == 0.0) { Co = NULL; beta = 0.0; }
    else if (PyArray_NDIM((PyArrayObject *)Co) > (vec ? 1 : 2)) Py_RETURN_NOTIMPLEMENTED;
    PyArrayObject *Ac = NULL, *Bc = NULL, *out = NULL;
    int64_t lda = 0, ldb = 0;
    int fa = 0, fb = 0;
    if (!layout(A, &lda, &fa)) {
        if (!(Ac = (PyArrayObject *)PyArray_NewCopy(A, NPY_CORDER))) return NULL;
        A = Ac; layout(A, &lda, &fa);
    }
    int64_t incb = 0;
    if (vec) {
        const int64_t e = PyArray_ITEMSIZE(B), s = PyArray_STRIDES(B)[0];
        if (!PyArray_ISALIGNED(B) || s <= 0 || s %% e != 0) {
            if (!(Bc = (PyArrayObject *)PyArray_NewCopy(B, NPY_CORDER))) { Py_XDECREF(Ac); return NULL; }
            B = Bc; incb = 1;
        } else incb = s / e;
        if (kb == 1) incb = 1;
    } else if (!layout(B, &ldb, &fb)) {
        if (!(Bc = (PyArrayObject *)PyArray_NewCopy(B, NPY_CORDER))) { Py_XDECREF(Ac); return NULL; }
        B = Bc; layout(B, &ldb, &fb);
    }
    npy_intp odims[2] = {m, n};
    const int ond = vec ? 1 : 2;
    if (PyArray_Check(given)) {
        PyArrayObject *g = (PyArrayObject *)given;
        int fits = PyArray_NDIM(g) == ond && PyArray_TYPE(g) == typenum && PyArray_ISCARRAY(g)
                   && PyArray_ISNOTSWAPPED(g);
        for (int a = 0; fits && a < ond; a++) fits = PyArray_DIMS(g)[a] == odims[a];
        fits = fits && !overlap(g, (PyArrayObject *)args[1]) && !overlap(g, (PyArrayObject *)args[2]);
        if (fits) { Py_INCREF(g); out = g; }
    }
    if (!out && !(out = (PyArrayObject *)PyArray_SimpleNew(ond, odims, typenum))) goto fail;
    if (Co && (PyObject *)out != Co && PyArray_CopyInto(out, (PyArrayObject *)Co) < 0) goto fail;
    {
        const void *pa = PyArray_DATA(A), *pb = PyArray_DATA(B);
        void *po = PyArray_DATA(out);
        const int opa = (ta ^ fa) ? Trans : NoTrans, opb = (tb ^ fb) ? Trans : NoTrans;
        /* the stored (row-major) shape of A, for gemv */
        const int64_t ra = fa ? PyArray_DIMS(A)[1] : PyArray_DIMS(A)[0];
        const int64_t ca = fa ? PyArray_DIMS(A)[0] : PyArray_DIMS(A)[1];
        const int big = (double)m * (double)n * (double)k > 65536.0;
        PyThreadState *ts = big ? PyEval_SaveThread() : NULL;
        if (vec) {
            if (blas_ilp64) {
                if (dbl) ((dgemv64_t)blas[3])(RowMajor, opa, ra, ca, alpha, pa, lda, pb, incb, beta, po, 1);
                else ((sgemv64_t)blas[2])(RowMajor, opa, ra, ca, (float)alpha, pa, lda, pb, incb, (float)beta, po, 1);
            } else {
                if (dbl) ((dgemv32_t)blas[3])(RowMajor, opa, (int32_t)ra, (int32_t)ca, alpha, pa, (int32_t)lda, pb, (int32_t)incb, beta, po, 1);
                else ((sgemv32_t)blas[2])(RowMajor, opa, (int32_t)ra, (int32_t)ca, (float)alpha, pa, (int32_t)lda, pb, (int32_t)incb, (float)beta, po, 1);
            }
        } else if (blas_ilp64) {
            if (dbl) ((dgemm64_t)blas[1])(RowMajor, opa, opb, m, n, k, alpha, pa, lda, pb, ldb, beta, po, n);
            else ((sgemm64_t)blas[0])(RowMajor, opa, opb, m, n, k, (float)alpha, pa, lda, pb, ldb, (float)beta, po, n);
        } else {
            if (dbl) ((dgemm32_t)blas[1])(RowMajor, opa, opb, (int32_t)m, (int32_t)n, (int32_t)k, alpha, pa, (int32_t)lda, pb, (int32_t)ldb, beta, po, (int32_t)n);
            else ((sgemm32_t)blas[0])(RowMajor, opa, opb, (int32_t)m, (int32_t)n, (int32_t)k, (float)alpha, pa, (int32_t)lda, pb, (int32_t)ldb, (float)beta, po, (int32_t)n);
        }
        if (ts) PyEval_RestoreThread(ts);
    }
    Py_XDECREF(Ac); Py_XDECREF(Bc);
    return (PyObject *)out;
fail:
    Py_XDECREF(Ac); Py_XDECREF(Bc); Py_XDECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"call", (PyCFunction)(void (*)(void))call, METH_FASTCALL, "call(fnptr, spec, inputs) -> outputs"},
    {"gemm", (PyCFunction)(void (*)(void))gemm, METH_FASTCALL, "gemm(spec, A, B, C, out) -> out"},
    {"set_blas", (PyCFunction)(void (*)(void))set_blas, METH_FASTCALL, "set_blas(sgemm, dgemm, sgemv, dgemv, ilp64)"},
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


def broadcast_shape(d: int, inputs) -> list[int]:
    """The ``d``-dimensional index space of arrays broadcast together (NumPy's rule, leading
    axes added); ``BroadcastError(0, input, axis, size)`` names the first size that clashes."""
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
    return shape


def py_call(fnptr: int, spec: bytes, inputs: tuple, given: tuple = ()) -> tuple:
    """The ctypes version of the extension's ``call`` (same semantics, slower)."""
    s = np.frombuffer(spec, dtype=np.int64)
    d, nin, nout, redmask, keepdims = (int(v) for v in s[:5])
    typenums, bmask = s[5:5 + nout], s[5 + nout:]
    shape = broadcast_shape(d, inputs)
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


def load():
    """(call, BroadcastError, EmptyReduceError): the extension's, or the ctypes fallback's."""
    mod = _extension()
    if mod is None:
        return py_call, BroadcastError, EmptyReduceError
    return mod.call, mod.BroadcastError, mod.EmptyReduceError


@functools.lru_cache(maxsize=None)
def gemm_call():
    """The extension's ``gemm(spec, A, B, C, out)`` bound to NumPy's CBLAS (codegen/blas.py), or
    None (no extension, or no CBLAS found: gemm nodes run their NumPy perform)."""
    from .blas import cblas
    mod, found = _extension(), cblas()
    if mod is None or found is None:
        return None
    mod.set_blas(found.sgemm, found.dgemm, found.sgemv, found.dgemv, found.ilp64)
    return mod.gemm


def gemm_spec(dtype: str, trans_a: bool, trans_b: bool, alpha: float, beta: float) -> bytes:
    return np.array([np.dtype(dtype).num, trans_a, trans_b, alpha, beta], dtype=np.float64).tobytes()


@functools.lru_cache(maxsize=None)
def _extension():
    """The compiled extension module, or None where it cannot be built (warned once)."""
    from .cache import cache_key, cached_build
    from .compile import compiler_version, find_compiler, CompilerError
    cc = find_compiler()
    include = sysconfig.get_paths().get("include", "")
    if cc is None or not os.path.isfile(os.path.join(include, "Python.h")):
        return None
    key = cache_key(SOURCE, sys.version, np.__version__, compiler_version(cc), "trampoline-3")
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
        return None
    return mod
