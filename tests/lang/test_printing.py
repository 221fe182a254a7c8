"""Looking inside (API.md §4): pp, debugprint, Print and pydotprint, against exact text."""
from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.printing import Print, debugprint, pp, pydotprint, to_dot


# ---- pp -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build, text", [
    (lambda x, y, m: x + y, "(x + y)"),
    (lambda x, y, m: (x + y) * 2, "((x + y) * 2)"),
    (lambda x, y, m: x * 0.5 - y / 3, "((x * 0.5) - (y / 3))"),
    (lambda x, y, m: -x ** 2, "-(x ** 2)"),
    (lambda x, y, m: abs(x) // y % 4, "((|x| // y) % 4)"),
    (lambda x, y, m: T.exp(T.log1p(x)), "exp(log1p(x))"),
    (lambda x, y, m: T.switch(x > y, x, y), "switch((x > y), x, y)"),
    (lambda x, y, m: T.eq(x, y) & (x <= 1), "(eq(x, y) & (x <= 1))"),
    (lambda x, y, m: m.sum(), "sum(m)"),
    (lambda x, y, m: m.sum(axis=1), "sum(m, axis=1)"),
    (lambda x, y, m: m.max(axis=-1, keepdims=True), "max(m, axis=1, keepdims=True)"),
    (lambda x, y, m: m.mean(axis=(0, 1)), "mean(m)"),
    (lambda x, y, m: T.cast(x, "float32"), "cast(x, dtype='float32')"),
    (lambda x, y, m: x + np.array([1.5, 2.0]), "(x + [1.5, 2])"),
])
def test_pp(build, text):
    x, y = T.dvectors("x", "y")
    m = T.dmatrix("m")
    assert pp(build(x, y, m)) == text


def test_pp_names_leaves_and_shared_variables():
    w = egopt.shared(np.zeros(3), name="w")
    b = egopt.shared(np.zeros(3))
    x = T.dvector("x")
    assert pp(x * w) == "(x * w)"
    assert pp(x + b) == "(x + <vector[float64](?)>)"
    assert egopt.printing.pprint is pp


def test_pp_of_a_deep_graph():
    x = T.dscalar("x")
    y = x
    for _ in range(5000):
        y = y + 1
    text = pp(y)
    assert text.startswith("(" * 5000 + "x + 1)") and text.endswith(" + 1)")


# ---- debugprint --------------------------------------------------------------------------------------------

def test_debugprint_variable_shares_ids():
    x = T.dvector("x")
    e = T.exp(x)
    out = e * e + x
    assert debugprint(out, file="str") == (
        "add [id A] <vector[float64](?)>\n"
        " |mul [id B] <vector[float64](?)>\n"
        " | |exp [id C] <vector[float64](?)>\n"
        " | | |x [id D] <vector[float64](?)>\n"
        " | |exp [id C] <vector[float64](?)> ...\n"
        " |x [id D] <vector[float64](?)>\n")


def test_debugprint_options_and_stdout(capsys):
    x = T.dmatrix("x")
    y = x.sum(axis=0)
    y.name = "colsum"
    assert debugprint(y) is None
    assert capsys.readouterr().out == (
        "sum{axis=(0,), keepdims=False} [id A] 'colsum' <vector[float64](?)>\n"
        " |x [id B] <matrix[float64](?, ?)>\n")
    assert debugprint([y, T.constant(2.0) * x], file="str", print_type=False) == (
        "sum{axis=(0,), keepdims=False} [id A] 'colsum'\n"
        " |x [id B]\n"
        "mul [id C]\n"
        " |Constant{2} [id D]\n"
        " |x [id B]\n")
    assert debugprint(T.exp(T.exp(x)), file="str", depth=1, print_type=False) == (
        "exp [id A]\n |exp [id B]\n")


def test_debugprint_compiled_function_shows_outputs_and_updates():
    s = egopt.shared(np.zeros(2), name="s")
    x = T.dvector("x")
    f = egopt.function([x], x * 2, updates=[(s, s + x)], mode="FAST_COMPILE")
    assert debugprint(f, file="str") == (
        "mul [id A] <vector[float64](?)>\n"
        " |x [id B] <vector[float64](?)>\n"
        " |Constant{2} [id C] <scalar[float64]>\n"
        "add [id D] <vector[float64](?)> -> update of s\n"
        " |s [id E] <vector[float64](?)>\n"
        " |x [id B] <vector[float64](?)>\n")


def test_debugprint_of_optimized_function_prints_the_graph_that_runs():
    x = T.dvector("x")
    f = egopt.function([x], T.log(1 + T.exp(x)), mode="FAST_RUN")
    text = debugprint(f, file="str")
    assert text.splitlines()[0].startswith("softplus [id A]")


def test_debugprint_refuses_other_objects():
    with pytest.raises(TypeError, match="cannot print int"):
        debugprint(3)


# ---- Print -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["FAST_COMPILE", "FAST_RUN"])
def test_print_is_identity_that_prints_when_run(capsys, mode):
    x = T.dvector("x")
    y = Print("x is", attrs=("__str__", "shape"))(x) * 2
    capsys.readouterr()
    f = egopt.function([x], y, mode=mode)
    assert capsys.readouterr().out == ""                     # building and compiling print nothing
    np.testing.assert_array_equal(f([1.0, 2.0]), [2.0, 4.0])
    assert capsys.readouterr().out == "x is __str__ = [1. 2.]\nx is shape = (2,)\n"
    f([3.0])
    assert capsys.readouterr().out == "x is __str__ = [3.]\nx is shape = (1,)\n"


def test_print_output_does_not_alias_input():
    x = T.dvector("x")
    a = np.ones(2)
    out = egopt.function([x], Print("p")(x), mode="FAST_COMPILE")(a)
    assert not np.shares_memory(out, a)


# ---- pydotprint --------------------------------------------------------------------------------------------------

def _graph():
    x = T.dvector("x")
    w = egopt.shared(np.ones(2), name="w")
    return x, w, T.exp(x * w) + 1


def test_to_dot_text():
    x, w, y = _graph()
    assert to_dot(y) == (
        "digraph egopt {\n"
        "  rankdir=TB;\n"
        '  node [fontname="Helvetica"];\n'
        '  edge [fontname="Helvetica", fontsize=10];\n'
        '  n0 [label="mul"];\n'
        '  v0 [label="x\\nvector[float64](?)", shape=box, style=filled, fillcolor=limegreen];\n'
        '  v0 -> n0 [label="0 vector[float64](?)"];\n'
        '  v1 [label="w\\nvector[float64](?)", shape=box, style=filled, fillcolor=cyan];\n'
        '  v1 -> n0 [label="1 vector[float64](?)"];\n'
        '  n1 [label="exp"];\n'
        '  n0 -> n1 [label="0 vector[float64](?)"];\n'
        '  n2 [label="add"];\n'
        '  n1 -> n2 [label="0 vector[float64](?)"];\n'
        '  v2 [label="1\\nscalar[float64]", shape=box, style=filled, fillcolor=grey];\n'
        '  v2 -> n2 [label="1 scalar[float64]"];\n'
        '  out0 [label="output 0\\nvector[float64](?)", shape=box, style=filled, fillcolor=dodgerblue];\n'
        "  n2 -> out0;\n"
        "}\n")


def test_to_dot_of_function_labels_updates():
    x, w, y = _graph()
    f = egopt.function([x], y, updates=[(w, w * 2)], mode="FAST_COMPILE")
    text = to_dot(f)
    assert '[label="update of w\\nvector[float64](?)"' in text and '[label="output 0' in text


def test_pydotprint_without_graphviz_writes_dot_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _, _, y = _graph()
    out = tmp_path / "g.png"
    with pytest.raises(RuntimeError, match="needs Graphviz's 'dot' program to render PNG") as e:
        pydotprint(y, outfile=str(out))
    assert str(tmp_path / "g.dot") in str(e.value)
    assert (tmp_path / "g.dot").read_text() == to_dot(y)
    assert not out.exists()


def test_pydotprint_dot_format_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _, _, y = _graph()
    assert pydotprint(y, outfile=str(tmp_path / "g.dot")) == str(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == to_dot(y)


def test_pydotprint_runs_dot(tmp_path, monkeypatch, capsys):
    # a stand-in for Graphviz's dot: records its arguments and copies stdin to the -o file
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "dot"
    fake.write_text(f"#!{sys.executable}\n"
                    "import sys\n"
                    "args = sys.argv[1:]\n"
                    "open(args[args.index('-o') + 1], 'w').write(' '.join(args) + '\\n' + sys.stdin.read())\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ.get("PATH", ""))
    x, w, y = _graph()
    f = egopt.function([x], y, mode="FAST_COMPILE")
    out = tmp_path / "g.svg"
    assert pydotprint(f, outfile=str(out)) == str(out)
    first, rest = out.read_text().split("\n", 1)
    assert first == f"-Tsvg -o {out}"
    assert rest == to_dot(f)
    assert capsys.readouterr().out == f"The output file is available at {out}\n"


def test_theano_style_maker_fgraph():
    x = T.dvector("x")
    f = egopt.function([x], T.exp(x) * 2, mode="FAST_COMPILE")
    fg = f.maker.fgraph
    assert fg.inputs == [x]
    assert [n.op.name for n in fg.toposort()] == ["exp", "mul"]
    assert debugprint(fg.outputs[0], file="str", print_type=False) == (
        "mul [id A]\n |exp [id B]\n | |x [id C]\n |Constant{2} [id D]\n")


def test_pydotprint_accepts_theanos_cosmetic_options(tmp_path):
    _, _, y = _graph()
    out = pydotprint(y, outfile=str(tmp_path / "g.dot"), var_with_name_simple=True, compact=True,
                     with_ids=False, print_output_file=False)
    assert open(out).read() == to_dot(y)
    with pytest.raises(TypeError, match="no_such_option"):
        pydotprint(y, outfile=str(tmp_path / "h.dot"), no_such_option=1)
