"""C (and CUDA) source of the special functions psi, tri_gamma, erfinv, erfcinv and erfcx: the
algorithms of egopt/lang/special_math.py (the NumPy reference), written once more in C over
double, with the same constants (generated from that module, so the two cannot drift apart).
gammaln is C99's lgamma and needs nothing here.

Each ``egopt_<name>_core(double)`` is called by a typed wrapper in the float helpers
(render_c.py), which computes a float32 input in double and rounds once.
"""
from __future__ import annotations

from ..lang import special_math as S


def _horner(name: str, coeffs, var: str) -> str:
    """``double name = ...`` evaluating sum coeffs[k] var^(n-1-k) (highest power first)."""
    lines = [f"double {name} = {coeffs[0]!r};"]
    lines += [f"{name} = {name} * {var} + {c!r};" for c in coeffs[1:]]
    return " ".join(lines)


def source() -> str:
    lo = S.PSI_ROOT_HI - S.PSI_TAYLOR_RADIUS
    return rf"""
/* special functions (egopt/codegen/special_c.py; the NumPy reference: egopt/lang/special_math.py) */
#define EGOPT_PI 3.141592653589793
#define EGOPT_SQRT_PI 1.7724538509055159
EGOPT_FN double egopt_psi_core(double x) {{
    if (x != x || x == -INFINITY) return NAN;
    if (x == INFINITY) return INFINITY;
    double refl = 0.0;
    if (x <= 0) {{
        double r = x - rint(x);
        if (r == 0) return NAN;
        refl = -EGOPT_PI / tan(EGOPT_PI * r);
        x = 1 - x;
    }}
    if (x < 10) {{
        double acc = 0.0;
        if (x < {lo!r}) {{ acc = -1 / x; x += 1; }}
        for (int i = 0; i < 9 && x >= {lo + 1!r}; i++) {{ acc += 1 / (x - 1); x -= 1; }}
        double t = (x - {S.PSI_ROOT_HI!r}) - {S.PSI_ROOT_LO!r};
        {_horner("p", S.PSI_TAYLOR[::-1], "t")}
        return (acc + t * p) + refl;
    }}
    double z = 1 / (x * x);
    double series = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (1.0 / 132
        - z * (691.0 / 32760 - z / 12))))));
    return (log(x) - 0.5 / x - series) + refl;
}}
EGOPT_FN double egopt_tri_gamma_core(double x) {{
    if (x != x || x == -INFINITY) return NAN;
    if (x == INFINITY) return 0.0;
    double refl = 0.0, sign = 1.0;
    if (x <= 0) {{
        double r = x - rint(x);
        if (r == 0) return INFINITY;
        double s = sin(EGOPT_PI * r);
        refl = (EGOPT_PI * EGOPT_PI) / (s * s);
        sign = -1.0;
        x = 1 - x;
    }}
    double acc = 0.0;
    for (int i = 0; i < 12 && x < 12; i++) {{ acc += 1 / (x * x); x += 1; }}
    double r = 1 / x, z = r * r;
    double series = r + z * (0.5 + r * (1.0 / 6 - z * (1.0 / 30 - z * (1.0 / 42 - z * (1.0 / 30 - z * (5.0 / 66
        - z * (691.0 / 2730 - z * 7.0 / 6)))))));
    return refl + sign * (acc + series);
}}
EGOPT_FN double egopt_erfinv_central(double x) {{
    double w = -log((1 - x) * (1 + x)) - 2.5;
    {_horner("p", S.GILES_CENTRAL, "w")}
    double y = p * x;
    for (int i = 0; i < 2; i++) {{
        double u = (erf(y) - x) * exp(y * y) * (0.5 * EGOPT_SQRT_PI);
        y = y - u / (1 + y * u);
    }}
    return y;
}}
EGOPT_FN double egopt_erfcinv_small(double z) {{
    double w = -log(z * (2 - z)), y;
    if (w < 5) {{
        double c = w - 2.5;
        {_horner("p", S.GILES_CENTRAL, "c")}
        y = p * (1 - z);
    }} else if (w < 16) {{
        double c = sqrt(w) - 3;
        {_horner("p", S.GILES_TAIL, "c")}
        y = p * (1 - z);
    }} else {{
        double ell = -log(z);
        y = sqrt(fmax(ell, 1.0));
        for (int i = 0; i < 3; i++) {{
            double v = 1 / (y * y);
            y = sqrt(fmax(ell - log(y * EGOPT_SQRT_PI) + log(1 - 0.5 * v + 0.75 * v * v), 1.0));
        }}
    }}
    for (int i = 0; i < 4; i++) {{
        double e = exp(0.5 * y * y);
        double u = -((erfc(y) * e - z * e) * e) * (0.5 * EGOPT_SQRT_PI);
        if (isfinite(u)) y = y - u / (1 + y * u);
    }}
    return y;
}}
EGOPT_FN double egopt_erfcinv_core(double z) {{
    if (!(z >= 0 && z <= 2)) return NAN;
    if (fabs(1 - z) <= 0.5) return egopt_erfinv_central(1 - z);
    double lower = z <= 1 ? z : 2 - z, sign = z <= 1 ? 1.0 : -1.0;
    if (lower == 0) return sign * INFINITY;
    return sign * egopt_erfcinv_small(lower);
}}
EGOPT_FN double egopt_erfinv_core(double x) {{
    double a = fabs(x);
    if (!(a <= 1)) return NAN;
    if (a <= 0.5) return egopt_erfinv_central(x);
    if (a == 1) return copysign(INFINITY, x);
    return copysign(egopt_erfcinv_small(1 - a), x);
}}
EGOPT_FN double egopt_erfcx_cf(double x) {{
    double t = x;
    for (int n = {S.ERFCX_CF_TERMS}; n > 0; n--) t = x + (0.5 * n) / t;
    return 1 / (EGOPT_SQRT_PI * t);
}}
EGOPT_FN double egopt_erfcx_core(double x) {{
    if (x != x) return x;
    if (x == INFINITY) return 0.0;
    if (x < -27) return INFINITY;
    if (fabs(x) < 2) {{
        double hi = (double)(float)x, lo = x - hi;
        return exp(hi * hi) * exp((2 * hi + lo) * lo) * erfc(x);
    }}
    if (x >= 2) return egopt_erfcx_cf(x);
    double hi = (double)(float)x, lo = x - hi, e = exp(0.5 * (hi * hi));
    return 2 * e * exp((2 * hi + lo) * lo) * e - egopt_erfcx_cf(-x);
}}
"""


# the ops implemented here, by their C helper names (egopt_<name>(x), egopt_<name>_core(double))
NAMES = ("psi", "tri_gamma", "erfinv", "erfcinv", "erfcx")
