"""NumPy references of the special functions (gammaln, psi, tri_gamma, erfinv, erfcinv, erfcx),
in float64 whatever the input dtype, without SciPy (not a core dependency).

The algorithms are the ones the C kernels use (egopt/codegen/render_c.py, SPECIAL_HELPERS), so
both linkers agree to a few ulp:

- psi (digamma): upward recurrence to x >= 10, then the asymptotic series; near its positive
  root x0 = 1.4616... (where the recurrence cancels) a Taylor series in x - x0; reflection
  psi(x) = psi(1 - x) - pi / tan(pi x) below 0 (x reduced to [-1/2, 1/2] first);
- tri_gamma: the same recurrence (to x >= 12) and series; reflection with pi^2 / sin^2(pi x);
- erfcinv / erfinv: an initial guess (Giles' single-precision polynomials, or the asymptotic
  y^2 = L - log(sqrt(pi L)) deep in the tail), then Halley steps on erfc(y) - z (on
  erf(y) - x for |x| <= 1/2): the residual of erfc keeps its relative accuracy in the tail,
  where 1 - erf(y) would be 0;
- erfcx = exp(x^2) erfc(x): exp(x^2) erfc(x) with x^2 split exactly into hi + lo below
  x = 2, Lentz's continued fraction above (erfc underflows at x = 26.5, exp(x^2) overflows).
"""
from __future__ import annotations

import math

import numpy as np

PSI_ROOT_HI, PSI_ROOT_LO = 1.4616321449683622, 9.549995429965697e-17
# psi(x0 + t) = sum_k PSI_TAYLOR[k] t^(k+1): psi^(k+1)(x0) / (k+1)!, from mpmath at 50 digits
PSI_TAYLOR = (
    0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652,
    0.10782405069126237, -0.07219956125645471, 0.04880428816414311, -0.03316112647484736,
    0.022597648232218104, -0.01542476590494896, 0.010538791616612175, -0.007204534386356869,
    0.004926781395729853, -0.003369801655439328, 0.002305126326734928, -0.0015769367714301972,
    0.0010788252019162967, -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077,
    0.00023635601564027053, -0.00016170622091974803, 0.0001106337276874741, -7.569179582195066e-05,
    5.178575795222081e-05, -3.5430070947659604e-05, 2.424006611860132e-05, -1.6584242271854135e-05,
    1.134638458466385e-05, -7.762817668462094e-06, 5.3110609208898636e-06, -3.6336507898010456e-06,
    2.486022733129538e-06, -1.7008538854332607e-06, 1.1636675363548843e-06, -7.96142543124197e-07,
    5.446941930669446e-07, -3.7266161283438227e-07, 2.549626552021554e-07, -1.7443695117727745e-07)
PSI_TAYLOR_RADIUS = 0.5
# log Gamma(1 + t) = -gamma t + sum_k (-1)^k zeta(k)/k t^k, and log Gamma(2 + t) with zeta(k) - 1:
# near the roots 1 and 2 of log Gamma, where a general formula loses its relative accuracy
LGAMMA1_TAYLOR = (
    -0.5772156649015329, 0.8224670334241132, -0.40068563438653143, 0.27058080842778454,
    -0.20738555102867398, 0.1695571769974082, -0.1440498967688461, 0.12550966952474304,
    -0.11133426586956469, 0.1000994575127818, -0.09095401714582904, 0.083353840546109,
    -0.0769325164113522, 0.07143294629536133, -0.06666870588242046, 0.06250095514121304,
    -0.058823978658684585, 0.055555767627403614, -0.05263167937961666, 0.05000004769810169,
    -0.047619070330142226, 0.04545455629320467, -0.04347826605304026, 0.04166666915034121,
    -0.04000000119214014, 0.03846153903467518, -0.037037037312989324, 0.035714285847333355,
    -0.034482758684919304, 0.03333333336437758, -0.03225806453115042, 0.03125000000727597,
    -0.030303030306558044, 0.029411764707594344, -0.02857142857226011, 0.027777777778181998,
    -0.027027027027223673, 0.02631578947377995, -0.025641025641072283, 0.025000000000022737,
    -0.024390243902450117)
LGAMMA2_TAYLOR = (
    0.42278433509846713, 0.3224670334241132, -0.0673523010531981, 0.020580808427784546,
    -0.007385551028673986, 0.0028905103307415234, -0.001192753911703261, 0.0005096695247430425,
    -0.00022315475845357939, 9.945751278180853e-05, -4.492623673813314e-05, 2.050721277567069e-05,
    -9.439488275268397e-06, 4.374866789907488e-06, -2.039215753801366e-06, 9.55141213040742e-07,
    -4.492469198764566e-07, 2.1207184805554665e-07, -1.0043224823968099e-07, 4.7698101693639804e-08,
    -2.2711094608943164e-08, 1.0838659214896955e-08, -5.183475041970047e-09, 2.4836745438024785e-09,
    -1.1921401405860912e-09, 5.731367241678862e-10, -2.7595228851242334e-10, 1.330476437424449e-10,
    -6.4229645638381e-11, 3.1044247747322276e-11, -1.5021384080754142e-11, 7.275974480239079e-12,
    -3.527742476575915e-12, 1.711991790559618e-12, -8.315385841420285e-13, 4.04220052528944e-13,
    -1.9664756310966165e-13, 9.573630387838556e-14, -4.6640760264283744e-14, 2.2737369600659724e-14,
    -1.1091399470834522e-14)
LGAMMA1_RADIUS, LGAMMA2_RADIUS = 0.3, 0.5
# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single precision:
# erfinv(x) ~ x p(w), w = -log((1 - x)(1 + x)); central for w < 5, tail (in sqrt(w) - 3) beyond
GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                 -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
SQRT_PI = math.sqrt(math.pi)
ERFCX_CF_TERMS = 60


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _horner(coeffs, t):
    p = np.zeros_like(t) + coeffs[0]
    for c in coeffs[1:]:
        p = p * t + c
    return p


def gammaln(x):
    """log|Gamma(x)|; +inf at the poles (0, -1, -2, ...)."""
    def one(v):
        try:
            return math.lgamma(v)
        except (ValueError, OverflowError):
            return math.inf
    x = _f64(x)
    out = np.vectorize(one, otypes=[np.float64])(x)
    t1, t2 = np.where(np.abs(x - 1) < 1, x - 1, 0.0), np.where(np.abs(x - 2) < 1, x - 2, 0.0)
    near1 = t1 * _horner(LGAMMA1_TAYLOR[::-1], t1)
    near2 = t2 * _horner(LGAMMA2_TAYLOR[::-1], t2)
    # + 0.0: the series give -0.0 at exactly 1 and 2, where lgamma (the C kernels) gives +0.0
    return np.where(np.abs(x - 1) < LGAMMA1_RADIUS, near1, np.where(np.abs(x - 2) < LGAMMA2_RADIUS, near2, out)) + 0.0


def _psi_core(v):
    """psi(v) for v > 0. Below 10: into the window around the root by the recurrence, upward
    from below it (psi(v) = psi(v + 1) - 1/v), downward from above (psi(v) = psi(v - 1) +
    1/(v - 1), a sum of positive terms; v - k is exact), then the Taylor series. From 10 on:
    the asymptotic series."""
    lo = PSI_ROOT_HI - PSI_TAYLOR_RADIUS
    small = v < 10
    xw = np.where(small, v, PSI_ROOT_HI)
    up = xw < lo
    acc = np.where(up, -1 / np.where(up, xw, 1), 0.0)
    xw = np.where(up, xw + 1, xw)
    for _ in range(9):
        down = xw >= lo + 1
        acc += np.where(down, 1 / np.where(down, xw - 1, 1), 0.0)
        xw = np.where(down, xw - 1, xw)
    t = (xw - PSI_ROOT_HI) - PSI_ROOT_LO
    near = acc + t * _horner(PSI_TAYLOR[::-1], t)
    x = np.where(small, 10.0, v)
    z = 1 / (x * x)
    series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (1 / 132 - z * (691 / 32760 - z / 12))))))
    return np.where(small, near, np.log(x) - 0.5 / x - series)


def psi(x):
    """The digamma function d/dx log Gamma(x); NaN at 0 and the negative integers (poles)."""
    x = _f64(x)
    with np.errstate(all="ignore"):
        pos = _psi_core(np.where(x > 0, x, 1 - x))
        r = x - np.round(x)
        out = np.where(x > 0, pos, pos - math.pi / np.tan(math.pi * r))
        out = np.where((x <= 0) & (r == 0), np.nan, out)
        return np.where(x == np.inf, np.inf, np.where(x == -np.inf, np.nan, out))


def _trigamma_positive(x):
    acc = np.zeros_like(x)
    for _ in range(12):
        small = x < 12
        xs = np.where(small, x, 1)
        acc += np.where(small, 1 / (xs * xs), 0)
        x = np.where(small, x + 1, x)
    r = 1 / x
    z = r * r
    series = r + z * (0.5 + r * (1 / 6 - z * (1 / 30 - z * (1 / 42 - z * (1 / 30 - z * (5 / 66 - z * (691 / 2730
                                                                                          - z * 7 / 6)))))))
    return acc + series


def tri_gamma(x):
    """The trigamma function d^2/dx^2 log Gamma(x); +inf at 0 and the negative integers."""
    x = _f64(x)
    with np.errstate(all="ignore"):
        pos = _trigamma_positive(np.where(x > 0, x, 1 - x))
        r = x - np.round(x)
        s = np.sin(math.pi * r)
        refl = (math.pi * math.pi) / (s * s) - pos
        out = np.where(x > 0, pos, np.where(r == 0, np.inf, refl))
        return np.where(x == np.inf, 0.0, np.where(x == -np.inf, np.nan, out))


def _erf(y):
    return np.vectorize(math.erf, otypes=[np.float64])(y)


def _erfc(y):
    return np.vectorize(math.erfc, otypes=[np.float64])(y)


def _erfcinv_small(z):
    """y >= 0 with erfc(y) = z, for z in (0, 1/2]."""
    w = -np.log(z * (2 - z))
    central = _horner(GILES_CENTRAL, w - 2.5) * (1 - z)
    tail = _horner(GILES_TAIL, np.sqrt(w) - 3) * (1 - z)
    # deep in the tail (beyond the single-precision fit): erfc(y) ~ exp(-y^2) / (y sqrt(pi))
    # (1 - 1/(2y^2) + 3/(4y^4)), solved for y by a few fixed-point steps from sqrt(-log(z))
    ell = -np.log(z)
    big = np.sqrt(np.maximum(ell, 1))
    for _ in range(3):
        v = 1 / (big * big)
        big = np.sqrt(np.maximum(ell - np.log(big * SQRT_PI) + np.log(1 - 0.5 * v + 0.75 * v * v), 1))
    y = np.where(w < 5, central, np.where(w < 16, tail, big))
    for _ in range(4):
        e = np.exp(0.5 * y * y)
        u = -((_erfc(y) * e - z * e) * e) * (0.5 * SQRT_PI)
        y = np.where(np.isfinite(u), y - u / (1 + y * u), y)
    return y


def _erfinv_central(x):
    """erfinv for |x| <= 1/2, from the erf residual."""
    w = -np.log((1 - x) * (1 + x))
    y = _horner(GILES_CENTRAL, w - 2.5) * x
    for _ in range(2):
        u = (_erf(y) - x) * np.exp(y * y) * (0.5 * SQRT_PI)
        y = y - u / (1 + y * u)
    return y


def erfcinv(z):
    """y with erfc(y) = z, z in [0, 2] (inf at 0, -inf at 2, NaN outside)."""
    z = _f64(z)
    with np.errstate(all="ignore"):
        lower = np.where(z <= 1, z, 2 - z)          # exact for z in [1, 2] (Sterbenz)
        sign = np.where(z <= 1, 1.0, -1.0)
        mid = np.abs(1 - z) <= 0.5                   # erfc(y) near 1: the erf residual is finer
        y_mid = _erfinv_central(np.where(mid, 1 - z, 0.0))
        y_tail = _erfcinv_small(np.where(mid | (lower <= 0), 0.25, lower))
        out = np.where(mid, y_mid, sign * y_tail)
        out = np.where(lower == 0, sign * np.inf, out)
        return np.where((z < 0) | (z > 2) | np.isnan(z), np.nan, out)


def erfinv(x):
    """y with erf(y) = x, x in [-1, 1] (+-inf at +-1, NaN outside)."""
    x = _f64(x)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        y_mid = _erfinv_central(np.where(a <= 0.5, x, 0.0))
        lower = 1 - a                                 # exact for |x| >= 1/2
        y_tail = _erfcinv_small(np.where((a > 0.5) & (lower > 0), lower, 0.25))
        out = np.where(a <= 0.5, y_mid, np.sign(x) * y_tail)
        out = np.where(a == 1, np.sign(x) * np.inf, out)
        return np.where((a > 1) | np.isnan(x), np.nan, out)


def erfcx(x):
    """exp(x^2) erfc(x), finite where erfc underflows (inf only where exp(x^2) erfc(x) is)."""
    x = _f64(x)
    with np.errstate(all="ignore"):
        xs = np.where(np.abs(x) < 2, x, 0.0)
        hi = np.float64(np.float32(xs))                 # x = hi + lo, hi with 24 bits:
        lo = xs - hi                                    # hi*hi exact, x^2 = hi^2 + (2 hi + lo) lo
        sq_hi, sq_lo = hi * hi, (2 * hi + lo) * lo
        small = np.exp(sq_hi) * np.exp(sq_lo) * _erfc(xs)
        # x >= 2: erfcx(x) = 1 / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))),
        # evaluated from the tail
        xp = np.where(x >= 2, x, 2.0)
        t = xp
        for n in range(ERFCX_CF_TERMS, 0, -1):
            t = xp + (n / 2) / t
        big = 1 / (SQRT_PI * t)
        # x <= -2: 2 exp(x^2) - erfcx(-x), exp(x^2) as exp(x^2/2)^2 (inf beyond x = -26.6)
        xn = np.where((x <= -2) & (x >= -27), x, -2.0)
        t = -xn
        for n in range(ERFCX_CF_TERMS, 0, -1):
            t = -xn + (n / 2) / t
        hn = np.float64(np.float32(xn))
        ln = xn - hn
        e = np.exp(0.5 * (hn * hn))                     # exp(x^2 / 2): its square overflows, not it
        neg = 2 * e * np.exp((2 * hn + ln) * ln) * e - 1 / (SQRT_PI * t)
        out = np.where(np.abs(x) < 2, small, np.where(x >= 2, big, np.where(x < -27, np.inf, neg)))
        out = np.where(x == np.inf, 0.0, np.where(x == -np.inf, np.inf, out))
        return np.where(np.isnan(x), np.nan, out)
