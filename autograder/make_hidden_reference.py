"""Write autograder/hidden_reference.pkl: inputs and reference answers for the hidden tests.

The answers come from the reference solution in solutions/master.ipynb. The file is instructor-only:
it is copied next to each submission when grading and never released to students.

    python -m autograder.make_hidden_reference [--out PATH]
"""
import argparse
import pickle
from pathlib import Path

import numpy as np

from autograder.reference import load_reference

HIDDEN_REFERENCE = Path(__file__).resolve().parent / "hidden_reference.pkl"
FLOAT32 = dict(rtol=1e-4, atol=1e-6)
FLOAT64 = dict(rtol=1e-5, atol=1e-9)

# (label, layer_dims, activations, batch size, dtype, weight scale)
NETWORKS = [
    ("a batch of 1 through [784, 200, 1] (ReLU, sigmoid)", [784, 200, 1], ["relu", "sigmoid"], 1, np.float64, 0.1),
    ("a batch of 7 through [6, 5, 4, 1] (sigmoid, ReLU, sigmoid)", [6, 5, 4, 1], ["sigmoid", "relu", "sigmoid"],
     7, np.float64, 0.8),
    ("a batch of 64 through [10, 8, 8, 8, 1] (ReLU, ReLU, ReLU, sigmoid)", [10, 8, 8, 8, 1],
     ["relu", "relu", "relu", "sigmoid"], 64, np.float64, 0.6),
    ("a float32 batch of 5 through [6, 5, 1] (ReLU, sigmoid)", [6, 5, 1], ["relu", "sigmoid"], 5, np.float32, 0.5),
]


def random_network(rng, layer_dims, scale, dtype):
    weights = [(scale * rng.normal(size=(d_in, d_out))).astype(dtype)
               for d_in, d_out in zip(layer_dims[:-1], layer_dims[1:])]
    biases = [(scale * rng.normal(size=(1, d_out))).astype(dtype) for d_out in layer_dims[1:]]
    return weights, biases


def far_from_kinks(X, weights, biases, activations, margin=1e-3):
    """Whether every ReLU input of the network is at least ``margin`` from 0: a central difference
    (step 1e-5) across a kink is not the gradient, so a correct checker would disagree with it."""
    x = X
    for W, b, activation in zip(weights, biases, activations):
        s = x @ W + b
        if activation == "relu" and np.min(np.abs(s)) < margin:
            return False
        x = np.maximum(s, 0) if activation == "relu" else 1 / (1 + np.exp(-s))
    return True


def mixed_labels(rng, n):
    """n labels with both classes present whenever n > 1."""
    labels = rng.integers(0, 2, size=n)
    if n > 1:
        labels[:2] = [0, 1]
    return labels


def build_cases(ref, seed=2021):
    rng = np.random.default_rng(seed)
    functions = {"relu": ref.relu_activation, "sigmoid": ref.sigmoid_activation}
    cases = {name: [] for name in ["flatten_images", "sigmoid_activation", "relu_activation", "logistic_loss",
                                   "layer_forward", "forward_pass", "backward_pass",
                                   "my_nn_finite_difference_checker"]}

    images = rng.random((3, 28, 28))
    cases["flatten_images"].append(dict(label="three random (28, 28) images", images=images,
                                        flat=ref.flatten_images(images)))

    for label, s in [("a float64 (4, 5) array of mixed magnitudes", rng.normal(0, 5, (4, 5))),
                     ("a float32 (6,) array", rng.normal(0, 3, 6).astype(np.float32)),
                     ("an int (2, 3) array", rng.integers(-5, 6, (2, 3))),
                     ("extreme inputs of size 710 to 1e5", np.array([-1e5, -800.0, -710.0, 710.0, 800.0, 1e5])),
                     ("a (2, 1, 3) array", rng.normal(0, 2, (2, 1, 3)))]:
        out, grad = ref.sigmoid_activation(s)
        cases["sigmoid_activation"].append(dict(label=label, s=s, out=out, grad=grad))

    for label, s in [("a float64 (5, 3) array", rng.normal(size=(5, 3))),
                     ("a float32 (7,) array", rng.normal(size=7).astype(np.float32))]:
        out, ds = ref.relu_activation(s)
        cases["relu_activation"].append(dict(label=label, s=s, out=out, ds=ds))

    for label, n, labels_dtype in [("a batch of 1 with label 0", 1, int), ("a batch of 7 with mixed int labels", 7, int),
                                   ("a batch of 64 with mixed float labels", 64, float)]:
        g = ref.sigmoid_activation(rng.normal(0, 3, (n, 1)))[0]
        y = np.zeros(n, dtype=labels_dtype) if n == 1 else mixed_labels(rng, n).astype(labels_dtype)
        loss, dL_dg = ref.logistic_loss(g, y)
        cases["logistic_loss"].append(dict(label=label, g=g, y=y, loss=loss, dL_dg=dL_dg))

    for label, n, d_in, d_out, activation, dtype in [
            ("a batch of 1 with ReLU", 1, 5, 3, "relu", np.float64),
            ("a batch of 9 with sigmoid", 9, 4, 6, "sigmoid", np.float64),
            ("a float32 batch of 4 with ReLU", 4, 3, 2, "relu", np.float32)]:
        x = rng.normal(size=(n, d_in)).astype(dtype)
        (W,), (b,) = random_network(rng, [d_in, d_out], 1.0, dtype)
        out, _ = ref.layer_forward(x, W, b, functions[activation])
        tolerance = FLOAT32 if dtype == np.float32 else FLOAT64
        cases["layer_forward"].append(dict(label=label, x=x, W=W, b=b, activation=activation, out=out, **tolerance))

    for label, layer_dims, activations, n, dtype, scale in NETWORKS:
        X = rng.normal(size=(n, layer_dims[0])).astype(dtype)
        weights, biases = random_network(rng, layer_dims, scale, dtype)
        output, caches = ref.forward_pass(X, weights, biases, [functions[a] for a in activations])
        tolerance = FLOAT32 if dtype == np.float32 else FLOAT64
        network = dict(label=label, X=X, weights=weights, biases=biases, activations=activations, **tolerance)
        cases["forward_pass"].append(dict(network, output=output))
        y = mixed_labels(rng, n)
        dL_dg = ref.logistic_loss(output, y)[1]
        grad_Ws, grad_bs = ref.backward_pass(dL_dg, caches)
        backward_tolerance = dict(rtol=1e-3, atol=1e-6) if dtype == np.float32 else FLOAT64
        cases["backward_pass"].append(dict(network, y=y, dL_dg=dL_dg, grad_Ws=grad_Ws, grad_bs=grad_bs,
                                           **backward_tolerance))

    for label, layer_dims, activations, n in [
            ("a batch of 5 with mixed labels through [3, 4, 2, 1] (ReLU, ReLU, sigmoid)", [3, 4, 2, 1],
             ["relu", "relu", "sigmoid"], 5),
            ("a batch of 1 with label 0 through [2, 3, 3, 1] (sigmoid, ReLU, sigmoid)", [2, 3, 3, 1],
             ["sigmoid", "relu", "sigmoid"], 1)]:
        X = rng.normal(size=(n, layer_dims[0]))
        weights, biases = random_network(rng, layer_dims, 0.8, np.float64)
        while not far_from_kinks(X, weights, biases, activations):  # finite differences see the gradient
            X = rng.normal(size=(n, layer_dims[0]))
        y = mixed_labels(rng, n) if n > 1 else np.array([0])
        output, caches = ref.forward_pass(X, weights, biases, [functions[a] for a in activations])
        grad_Ws, grad_bs = ref.backward_pass(ref.logistic_loss(output, y)[1], caches)
        cases["my_nn_finite_difference_checker"].append(dict(
            label=label, X=X, y=y, weights=weights, biases=biases, activations=activations,
            grad_Ws=grad_Ws, grad_bs=grad_bs))
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HIDDEN_REFERENCE, help="where to write the pickle")
    args = parser.parse_args(argv)
    cases = build_cases(load_reference())
    args.out.write_bytes(pickle.dumps(cases, protocol=4))
    print(f"wrote {args.out}: " + ", ".join(f"{name} {len(c)}" for name, c in cases.items()))


if __name__ == "__main__":
    main()
