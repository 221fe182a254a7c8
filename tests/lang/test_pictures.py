"""Pictures: pydotprint of original and optimized graphs (named intermediates, fused-kernel
boxes) and the e-graph picture, rendered by Graphviz for real (.ci/run installs it)."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import egopt
import egopt.tensor as T
from egopt.lang.ops import Op
from egopt.printing import pydotprint, to_dot

PNG = b"\x89PNG\r\n\x1a\n"


def _need_dot():
    assert shutil.which("dot"), "Graphviz's dot is not installed: .ci/run installs it (apt-get install graphviz)"


def _softplus_function():
    x = T.dvector("x")
    y = T.log(1 + T.exp(x)) * 2 + x * 2
    return x, egopt.function([x], y)


def _drawn_ops(text: str) -> list[str]:
    """The op names a picture draws: each op node's label, and each line of a fused box
    (``name\\nop\\lop\\l``: its ops, one per left-aligned line)."""
    ops = []
    for label, shape in re.findall(r'^\s*n\d+ \[label="([^"]*)"(, shape=box)?', text, re.M):
        head, _, body = label.partition("\\n")
        ops.append(head.split("{")[0])
        if shape:
            ops += [line.split(" {")[0] for line in body.split("\\l") if line]
    return ops


def test_original_and_optimized_graphs():
    _, f = _softplus_function()
    before, after = to_dot(f, original=True), to_dot(f)
    assert '"log"' in before and '"exp"' in before and "softplus" not in before
    # FAST_RUN fuses the elementwise region: softplus is a line of the fused kernel's box
    assert "softplus" in _drawn_ops(after) and "log" not in _drawn_ops(after), after
    assert '"log"' not in after
    assert _drawn_ops(before).count("log") == 1 and "softplus" not in _drawn_ops(before)


def test_named_intermediates_are_drawn_and_unnamed_optionally():
    x = T.dvector("x")
    h = T.exp(x)
    h.name = "hidden"
    y = T.tanh(h) + 1
    text = to_dot(y)
    assert re.search(r'n0o0 \[label="hidden\\nvector\[float64\]\(\?\)", style=filled, fillcolor=lightyellow\]', text)
    assert "n0 -> n0o0" in text and "n0o0 -> n1" in text
    assert text.count("lightyellow") == 1
    assert to_dot(y, hide_unnamed=False).count("lightyellow") == 3


def test_a_node_holding_an_inner_graph_is_one_box_listing_its_ops():
    a, b = T.dvector("a"), T.dvector("b")
    inner = T.exp(a) * b + 1
    fused = Op("fused_kernel_for_test", lambda p, *ts: ts[0], lambda p, *xs: xs[0], kind="fused")
    node = fused.make_node([a, b], inner=[inner])
    text = to_dot(node.outputs[0])
    label = re.search(r'n0 \[label="([^"]*)", shape=box, style="rounded,filled", fillcolor=gold\]', text)
    assert label, text
    assert label.group(1) == "fused_kernel_for_test\\nexp\\lmul\\ladd\\l"


def test_pydotprint_renders_png_and_svg(tmp_path, capsys):
    _need_dot()
    _, f = _softplus_function()
    for name, original in (("optimized.png", False), ("original.png", True)):
        path = pydotprint(f, str(tmp_path / name), original=original)
        data = open(path, "rb").read()
        assert data[:8] == PNG and len(data) > 2000
    svg = (tmp_path / "g.svg")
    pydotprint(f, str(svg), print_output_file=False)
    assert "<svg" in svg.read_text() and "softplus" in svg.read_text()


def test_egraph_picture(tmp_path):
    _need_dot()
    _, f = _softplus_function()
    rep = f.optimization_report()
    from egopt.rules.egraph_picture import chosen_classes, egraph_dot
    text = egraph_dot(rep.view, rep.choice, rep.leaf_names, rep.root_classes)
    assert text.count("subgraph cluster_") == len(rep.view.classes)
    assert text.count("fillcolor=palegreen") == len(chosen_classes(rep.choice, rep.root_classes))
    assert '"Softplus"' in text and '"Exp"' in text       # the chosen form and an abandoned one
    assert "fillcolor=grey95" in text                         # classes outside the extracted graph
    assert '[label="x", fillcolor=palegreen' in text
    path = f.egraph_picture(str(tmp_path / "egraph.png"))
    assert open(path, "rb").read()[:8] == PNG
    assert f.egraph_picture(str(tmp_path / "egraph.dot")) == str(tmp_path / "egraph.dot")
    with pytest.raises(ValueError, match="max_nodes"):
        f.egraph_picture(str(tmp_path / "big.png"), max_nodes=5)


def test_egraph_picture_needs_the_optimizer():
    x = T.dvector("x")
    f = egopt.function([x], T.exp(x), mode="FAST_COMPILE")
    with pytest.raises(RuntimeError, match="no e-graph to draw"):
        f.egraph_picture("never.png")


def test_a_convnet_layer_draws(tmp_path):
    _need_dot()
    x, w = T.ftensor4("x"), T.ftensor4("w")
    h = T.signal.pool.pool_2d(T.tanh(T.nnet.conv2d(x, w)), (2, 2))
    h.name = "pooled"
    f = egopt.function([x, w], T.grad(h.sum(), w))
    path = pydotprint(f, str(tmp_path / "lenet.png"), print_output_file=False)
    assert open(path, "rb").read()[:8] == PNG
    assert np.all(f(np.ones((1, 1, 6, 6), "float32"), np.zeros((2, 1, 3, 3), "float32")) >= 0)
