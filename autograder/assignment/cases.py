"""Write the test cases: generated/hidden_reference.pkl (hidden) and data/public_cases.pkl (public).

Both hold inputs and the reference solution's answers (solutions/master.ipynb), drawn by the same
``build_cases`` from different seeds: every kind of case the hidden tests try, the public tests try
too. Each case also carries ``suspects``: for each result the tests check, what the classic bugs of
``hw2_checks.CLASSIC_BUGS`` return for its inputs (the reference's functions given what the bug would use),
so that a check names the bug a wrong result matches. The hidden file is instructor-only (the grader reads it; it is never released); the public one
is released with the notebook (``hw2.load_public_cases``).

    python -m autograder.assignment.cases [--out PATH] [--public-out PATH]
"""
import argparse
import pickle
from pathlib import Path

import numpy as np

from autograder.assignment.master import REPO
from autograder.assignment.reference import load_reference
from autograder.assignment.release import HIDDEN_REFERENCE
from hw2_checks import TEST_ACTIVATIONS, with_wrong_derivative

PUBLIC_CASES = REPO / "data" / "public_cases.pkl"
HIDDEN_SEED, PUBLIC_SEED = 2021, 189
FLOAT32 = dict(rtol=1e-4, atol=1e-6)
FLOAT64 = dict(rtol=1e-5, atol=1e-9)
# random g of the logistic loss cases stay within sigmoid(±4) = [0.018, 0.982]: dL_dg = (g - y) / (g (1 - g))
# turns an error of one last bit in g (exp differs between numpy's SIMD loops) into at most g / (1 - g) <= 55 of
# them, where g = 0.9998 made it 5000 and the stored answers depended on the machine; g = 0 and g = 1 have a
# case of their own, exact
G_LOGIT_BOUND = 4.0

# (label, layer_dims, activations, batch size, dtype, weight scale); the activations are the tests' own
# (hw2_checks.TEST_ACTIVATIONS), so that a bug in the student's activations is charged to them alone
NETWORKS = [
    ("a batch of 1 through [784, 200, 1] (tanh, squash)", [784, 200, 1], ["tanh", "squash"], 1, np.float64, 0.1),
    ("a batch of 7 through [6, 5, 4, 1] (squash, tanh, squash)", [6, 5, 4, 1], ["squash", "tanh", "squash"],
     7, np.float64, 0.8),
    ("a batch of 64 through [10, 8, 8, 8, 1] (tanh, tanh, tanh, squash)", [10, 8, 8, 8, 1],
     ["tanh", "tanh", "tanh", "squash"], 64, np.float64, 0.6),
    ("a float32 batch of 5 through [6, 5, 1] (tanh, squash)", [6, 5, 1], ["tanh", "squash"], 5, np.float32, 0.5),
]


def random_network(rng, layer_dims, scale, dtype):
    weights = [(scale * rng.normal(size=(d_in, d_out))).astype(dtype)
               for d_in, d_out in zip(layer_dims[:-1], layer_dims[1:])]
    biases = [(scale * rng.normal(size=(1, d_out))).astype(dtype) for d_out in layer_dims[1:]]
    return weights, biases


def mixed_labels(rng, n):
    """n labels with both classes present whenever n > 1."""
    labels = rng.integers(0, 2, size=n)
    if n > 1:
        labels[:2] = [0, 1]
    return labels


def _unclipped_sigmoid(s):
    """The sigmoid without its clip (for the suspect of a clip thrown away): out, out * (1 - out)."""
    s = np.asarray(s, dtype=float)
    e = np.exp(-np.abs(s))
    out = np.where(s >= 0, 1 / (1 + e), e / (1 + e))
    return out, out * (1 - out)


def _with_cache_field(caches, field, values):
    """The reference's caches with ``field`` replaced by ``values`` (one per layer)."""
    return [cache._replace(**{field: value}) for cache, value in zip(caches, values)]


def _backward_suspects(ref, dL_dg, caches, output):
    """{result: {bug: value}} of backward_pass for these caches: the activation's derivative left out, and
    each layer's own output used in place of its input (the next layer's input)."""
    bugs = {"derivative_missing": ref.backward_pass(dL_dg, _with_cache_field(
        caches, "activation_grad", [np.ones_like(c.activation_grad) for c in caches])),
            "wrong_layer_input": ref.backward_pass(dL_dg, _with_cache_field(
                caches, "inputs", [c.inputs for c in caches[1:]] + [output]))}
    return {"grad_Ws": {bug: grads[0] for bug, grads in bugs.items()},
            "grad_bs": {"derivative_missing": bugs["derivative_missing"][1]}}


def build_cases(ref, seed=HIDDEN_SEED):
    """{function: [case, ...]}: inputs drawn from ``seed`` and the reference's answers for them. The
    public cases, the hidden ones and those drawn for each submission all come from here, so every
    kind of case the grader tries is one a student can try too."""
    rng = np.random.default_rng(seed)
    functions = TEST_ACTIVATIONS
    cases = {name: [] for name in ["flatten_images", "sigmoid_activation", "relu_activation", "logistic_loss",
                                   "layer_forward", "forward_pass", "backward_pass",
                                   "my_nn_finite_difference_checker"]}

    for label, n in [("three random (28, 28) images", 3), ("one random (28, 28) image, a batch of 1", 1)]:
        images = rng.random((n, 28, 28))
        cases["flatten_images"].append(dict(label=label, images=images, flat=ref.flatten_images(images), suspects=dict(
            flat={"pixels_by_column": ref.flatten_images(images.transpose(0, 2, 1))})))

    for label, s in [("a float64 (4, 5) array of mixed magnitudes", rng.normal(0, 5, (4, 5))),
                     ("a float32 (6,) array", rng.normal(0, 3, 6).astype(np.float32)),
                     ("an int (2, 3) array", rng.integers(-5, 6, (2, 3))),
                     ("extreme inputs of size 710 to 1e5", np.array([-1e5, -800.0, -710.0, 710.0, 800.0, 1e5])),
                     ("a (2, 1, 3) array", rng.normal(0, 2, (2, 1, 3)))]:
        out, grad = ref.sigmoid_activation(s)
        unclipped_out, unclipped_grad = _unclipped_sigmoid(s)
        cases["sigmoid_activation"].append(dict(label=label, s=s, out=out, grad=grad, suspects=dict(
            out={"clip_discarded": unclipped_out}, grad={"grad_unclipped": unclipped_grad})))

    for label, s in [("a float64 (5, 3) array", rng.normal(size=(5, 3))),
                     ("a float32 (7,) array", rng.normal(size=7).astype(np.float32))]:
        out, ds = ref.relu_activation(s)
        cases["relu_activation"].append(dict(label=label, s=s, out=out, ds=ds))

    for label, n, labels_dtype in [("a batch of 1 with label 0", 1, int), ("a batch of 7 with mixed int labels", 7, int),
                                   ("a batch of 64 with mixed float labels", 64, float)]:
        g = ref.sigmoid_activation(np.clip(rng.normal(0, 3, (n, 1)), -G_LOGIT_BOUND, G_LOGIT_BOUND))[0]
        y = np.zeros(n, dtype=labels_dtype) if n == 1 else mixed_labels(rng, n).astype(labels_dtype)
        loss, dL_dg = ref.logistic_loss(g, y)
        as_if_label_1 = ref.logistic_loss(g, np.ones_like(y))  # what a loss that ignores labels 0 gives
        cases["logistic_loss"].append(dict(label=label, g=g, y=y, loss=loss, dL_dg=dL_dg, suspects=dict(
            loss={"label0_term_missing": as_if_label_1[0] * y}, dL_dg={"dL_dg_only_y1": as_if_label_1[1]})))
    g = np.array([[1.0], [0.0], [rng.uniform(0.2, 0.8)]], dtype=np.float32)  # 1 - 1e-15 is 1 in float32
    y = np.array([0, 1, 1])
    loss, dL_dg = ref.logistic_loss(g, y)
    cases["logistic_loss"].append(dict(label="a float32 batch of 3 with g = 1 and g = 0 (labels 0, 1, 1)",
                                       g=g, y=y, loss=loss, dL_dg=dL_dg))

    for label, n, d_in, d_out, activation, dtype in [
            ("a batch of 1 with tanh", 1, 5, 3, "tanh", np.float64),
            ("a batch of 9 with squash", 9, 4, 6, "squash", np.float64),
            ("a float32 batch of 4 with tanh", 4, 3, 2, "tanh", np.float32)]:
        x = rng.normal(size=(n, d_in)).astype(dtype)
        (W,), (b,) = random_network(rng, [d_in, d_out], 1.0, dtype)
        out, _ = ref.layer_forward(x, W, b, functions[activation])
        tolerance = FLOAT32 if dtype == np.float32 else FLOAT64
        cases["layer_forward"].append(dict(label=label, x=x, W=W, b=b, activation=activation, out=out, **tolerance,
                                           suspects=dict(out={"bias_missing": ref.layer_forward(
                                               x, W, np.zeros_like(b), functions[activation])[0]})))

    for label, layer_dims, activations, n, dtype, scale in NETWORKS:
        X = rng.normal(size=(n, layer_dims[0])).astype(dtype)
        weights, biases = random_network(rng, layer_dims, scale, dtype)
        output, caches = ref.forward_pass(X, weights, biases, [functions[a] for a in activations])
        tolerance = FLOAT32 if dtype == np.float32 else FLOAT64
        network = dict(label=label, X=X, weights=weights, biases=biases, activations=activations, **tolerance)
        reversed_output, _ = ref.forward_pass(X, weights, biases, [functions[a] for a in activations[::-1]])
        cases["forward_pass"].append(dict(network, output=output, suspects=dict(
            output={"activations_reversed": reversed_output} if activations != activations[::-1] else {})))
        y = mixed_labels(rng, n)
        dL_dg = ref.logistic_loss(output, y)[1]
        grad_Ws, grad_bs = ref.backward_pass(dL_dg, caches)
        backward_tolerance = dict(rtol=1e-3, atol=1e-6) if dtype == np.float32 else FLOAT64
        # what each layer computes, for caches made by the student's layer_forward with activations that
        # return these values (hw2_checks.fixed_activation): backward_pass is then judged alone
        layers = dict(layer_inputs=[c.inputs for c in caches], layer_outputs=[c.inputs for c in caches[1:]] + [output],
                      activation_grads=[c.activation_grad for c in caches])
        cases["backward_pass"].append(dict(network, y=y, dL_dg=dL_dg, grad_Ws=grad_Ws, grad_bs=grad_bs,
                                           **layers, **backward_tolerance,
                                           suspects=_backward_suspects(ref, dL_dg, caches, output)))

    for label, layer_dims, activations, n in [
            ("a batch of 5 with mixed labels through [3, 4, 2, 1] (tanh, tanh, squash)", [3, 4, 2, 1],
             ["tanh", "tanh", "squash"], 5),
            ("a batch of 1 with label 0 through [2, 3, 3, 1] (squash, tanh, squash)", [2, 3, 3, 1],
             ["squash", "tanh", "squash"], 1)]:
        X = rng.normal(size=(n, layer_dims[0]))
        weights, biases = random_network(rng, layer_dims, 0.8, np.float64)
        y = mixed_labels(rng, n) if n > 1 else np.array([0])
        output, caches = ref.forward_pass(X, weights, biases, [functions[a] for a in activations])
        grad_Ws, grad_bs = ref.backward_pass(ref.logistic_loss(output, y)[1], caches)
        # what backpropagation gives with the tests' activations, whose derivatives are deliberately wrong
        output_wrong, caches_wrong = ref.forward_pass(
            X, weights, biases, [with_wrong_derivative(functions[a]) for a in activations])
        backprop_Ws, backprop_bs = ref.backward_pass(ref.logistic_loss(output_wrong, y)[1], caches_wrong)
        cases["my_nn_finite_difference_checker"].append(dict(
            label=label, X=X, y=y, weights=weights, biases=biases, activations=activations,
            grad_Ws=grad_Ws, grad_bs=grad_bs, suspects=dict(grad_Ws={"backprop_in_checker": backprop_Ws},
                                                            grad_bs={"backprop_in_checker": backprop_bs})))
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HIDDEN_REFERENCE, help="where to write the hidden cases")
    parser.add_argument("--public-out", type=Path, default=PUBLIC_CASES, help="where to write the public cases")
    args = parser.parse_args(argv)
    reference = load_reference()
    for out, seed in [(args.out, HIDDEN_SEED), (args.public_out, PUBLIC_SEED)]:
        cases = build_cases(reference, seed)
        out.write_bytes(pickle.dumps(cases, protocol=4))
        print(f"wrote {out}: " + ", ".join(f"{name} {len(c)}" for name, c in cases.items()))


if __name__ == "__main__":
    main()
