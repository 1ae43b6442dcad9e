"""A bank of real student bugs (mutants) and correct variants, to prove the tests grade fairly.

Every entry is the student notebook filled in with the master's solutions (``make_examples.completed``)
and then changed by text mutations ``{grade_id: [(old, new), ...]}`` written against the master's
solution code (a mutation that no longer applies raises, so the bank cannot rot silently).

* A ``Mutant`` holds one realistic bug. It must lose points in exactly the grade cells in ``fails``
  (the cell that tests the buggy function, and cells whose outcome the bug genuinely changes, listed
  explicitly), and the first of them, in notebook order, must show ``message`` to the student. A cell
  that is not the buggy function's own may lose points only if ``DEPENDENCIES`` (and docs/grading.md)
  name the function as one it depends on: one bug, one charge.
* A ``Variant`` is a correct solution written differently; it must keep every autograded point.

Two ways to grade the bank:

* ``run_fast(notebook)`` runs the notebook's code cells as the grader does (its ResilientExecute,
  hidden tests in this process), with every test cell replaced by the master's (as nbgrader's
  OverwriteCells does) and the plotting and optional cells left out, but without nbgrader's course
  and gradebook; it returns ``{grade_id: Loss or None}``.
* ``grade_full(notebooks, out)`` grades them with the real pipeline (``python -m autograder.classrun.grade``)
  and reads grades.csv.

    python -m qa.bugbank            # mutation report through the fast path
    python -m qa.bugbank --full     # the same through the real grading pipeline (./kit grade's)
"""
import argparse
import ast
import copy
import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from html import unescape
from pathlib import Path

import nbformat

from autograder.assignment import master, release
from autograder.build.examples import completed
from autograder.grading import core as grade_one

Loss = namedtuple("Loss", ["points", "message"])
Loss.__doc__ = "What a test cell lost: points (float) and why (str: its first failure, as the student reads it)."
BARE_EXCEPTION = re.compile(r"(\d+ of \d+ cases failed; \w+ case [^:]*: )?\w+(Error|Exception): ")  # names no function
SKIPPED_IN_FAST_PATH = re.compile(r"^(plot_.*|step_size_10|optional_memorise)$")
CELL_TIMEOUT = 120


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    mutations: dict
    fails: frozenset  # grade ids that must lose their points (cascades included), and only those
    message: str = ""  # must appear in the message of the first failing test cell (notebook order)


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    mutations: dict = field(default_factory=dict)


def _mutant(name, description, mutations, fails, message=""):
    return Mutant(name, description, mutations, frozenset(fails), message)


# ---------------------------------------------------------------------------------------------
# Snippets of the master's solutions that several entries rewrite
# ---------------------------------------------------------------------------------------------
FD_BODY = ("    step = np.zeros(np.shape(x))\n"
           "    step.flat[k] = eps\n"
           "    partial = (f(x + step) - f(x - step)) / (2 * eps)\n")
NN_FD_BODY = (
    "    def mean_loss(Ws, bs):\n"
    "        g, _ = forward_pass(X_batch, Ws, bs, activations)\n"
    "        return logistic_loss(g, y_batch)[0].mean()\n"
    "\n"
    "    def gradient(params, i, loss_of_params):\n"
    "        def loss_of_entry(value):\n"
    "            return loss_of_params([value if j == i else p for j, p in enumerate(params)])\n"
    "        return np.reshape([finite_difference_checker(loss_of_entry, params[i], k)\n"
    "                           for k in range(params[i].size)], params[i].shape)\n"
    "\n"
    "    grad_Ws = [gradient(weight_matrices, i, lambda Ws: mean_loss(Ws, biases))\n"
    "               for i in range(len(weight_matrices))]\n"
    "    grad_bs = [gradient(biases, i, lambda bs: mean_loss(weight_matrices, bs))\n"
    "               for i in range(len(biases))]\n")
SIGMOID_CORE = ("    e = np.exp(-np.abs(s))\n"
                "    out = np.where(np.asarray(s) >= 0, 1 / (1 + e), e / (1 + e))\n")
BACKWARD_LOOP_BODY = (
    "        ds = delta * cache.activation_grad  # (n, d_out): derivative with respect to s = x @ W + b\n"
    "        grad_Ws.insert(0, cache.inputs.T @ ds)  # adds up the n outer products x_i ds_i^T\n"
    "        grad_bs.insert(0, ds.sum(axis=0, keepdims=True))\n"
    "        if len(grad_Ws) < len(layer_caches):  # the first layer's inputs are the data: no gradient needed\n"
    "            delta = ds @ cache.weights.T  # (n, d_in): derivative with respect to this layer's inputs\n")
DL_DG = "dL_dg = (g - y) / (g * (1 - g))"
GRAD_W = "grad_Ws.insert(0, cache.inputs.T @ ds)"
MEAN_SCALING = "/ len(dL_dg)\n"  # the end of: delta = np.reshape(dL_dg, (len(dL_dg), -1)) / len(dL_dg)

# ---------------------------------------------------------------------------------------------
# The grade cells (points in brackets): test_flatten_images [1], test_finite_difference_checker [4],
# test_sigmoid_activation [3], test_relu_activation [2], test_logistic_loss [3], test_layer_forward [3],
# test_weight_and_bias_init [3], test_forward_pass [4], test_backward_pass [6], test_training [4],
# test_nn_finite_difference_checker [4], test_test_batch_loss [2]
# ---------------------------------------------------------------------------------------------
FLATTEN, FD, SIGMOID, RELU = ("test_flatten_images", "test_finite_difference_checker",
                              "test_sigmoid_activation", "test_relu_activation")
LOSS, LAYER, INIT, FORWARD = "test_logistic_loss", "test_layer_forward", "test_weight_and_bias_init", "test_forward_pass"
BACKWARD, TRAINING, NN_FD, BATCH_LOSS = ("test_backward_pass", "test_training", "test_nn_finite_difference_checker",
                                         "test_test_batch_loss")

# The cells that judge more than their own function, and the solution cells whose bugs they may also be
# charged for (docs/grading.md names the same); every other cell is judged with the tests' own parts
# (activations, caches made with fixed activations) for what its function depends on.
TRAINED = {"flatten_images", "sigmoid_activation", "relu_activation", "logistic_loss", "layer_forward",
           "create_weights_and_biases", "forward_pass", "backward_pass", "train_network"}
DEPENDENCIES = {
    BACKWARD: {"layer_forward"},  # the caches are the student's own, made by their layer_forward
    NN_FD: {"finite_difference_checker"},  # the checker may call it (with a function of its own)
    # the student's network on the test batch; and a checker that changes the test batch's weights in place
    # changes the loss the notebook computes after it
    BATCH_LOSS: {"forward_pass", "layer_forward", "relu_activation", "sigmoid_activation", "logistic_loss",
                 "finite_difference_checker", "my_nn_finite_difference_checker"},
    TRAINING: TRAINED,  # the student's whole network, trained
}

MUTANTS = [
    # --- finite differences (REFERENCE.md §3 and the issue) -----------------------------------
    _mutant("fd_precedence", "(f(x+e) - f(x-e)) / 2*e: divides by 2 and multiplies by eps",
            {"finite_difference_checker": [("/ (2 * eps)", "/ 2 * eps")]},
            [FD, NN_FD], "write / (2 * e)"),
    _mutant("fd_whole_vector", "perturbs every entry at once (x + eps) instead of entry k only",
            {"finite_difference_checker": [("(f(x + step) - f(x - step))", "(f(x + eps) - f(x - eps))")]},
            [FD, NN_FD], "every entry was perturbed at once"),
    _mutant("fd_in_place_not_restored", "perturbs x in place (x[k] += eps, x[k] -= 2 eps) and forgets to "
            "restore it; through my_nn_finite_difference_checker this also changes the test batch's weights",
            {"finite_difference_checker": [(FD_BODY,
                                            "    x.flat[k] += eps\n"
                                            "    f_plus = f(x)\n"
                                            "    x.flat[k] -= 2 * eps\n"
                                            "    f_minus = f(x)\n"
                                            "    partial = (f_plus - f_minus) / (2 * eps)\n")]},
            [FD, NN_FD, BATCH_LOSS], "changed its argument x"),
    _mutant("nn_fd_in_place_rounding", "the network checker perturbs the caller's weights in place and "
            "'restores' them with += eps, -= 2 eps, += eps, which is off by rounding",
            {"my_nn_finite_difference_checker": [(NN_FD_BODY,
                "    def mean_loss():\n"
                "        g, _ = forward_pass(X_batch, weight_matrices, biases, activations)\n"
                "        return logistic_loss(g, y_batch)[0].mean()\n"
                "\n"
                "    eps = 1e-5\n"
                "    grad_Ws, grad_bs = [], []\n"
                "    for params, grads in [(weight_matrices, grad_Ws), (biases, grad_bs)]:\n"
                "        for p in params:\n"
                "            grad = np.zeros_like(p)\n"
                "            for k in range(p.size):\n"
                "                p.flat[k] += eps\n"
                "                plus = mean_loss()\n"
                "                p.flat[k] -= 2 * eps\n"
                "                minus = mean_loss()\n"
                "                p.flat[k] += eps  # back where it was (up to rounding)\n"
                "                grad.flat[k] = (plus - minus) / (2 * eps)\n"
                "            grads.append(grad)\n")]},
            [NN_FD], "changed its argument"),
    _mutant("nn_fd_list_entry_replaced", "the network checker puts each perturbed array into the caller's "
            "list (params[i] = value) instead of a new list: the caller's weights change",
            {"my_nn_finite_difference_checker": [(
                "            return loss_of_params([value if j == i else p for j, p in enumerate(params)])\n",
                "            params[i] = value  # into the caller's list\n"
                "            return loss_of_params(params)\n")]},
            [NN_FD, BATCH_LOSS], "changed its argument"),
    _mutant("nn_fd_dL_dg_then_backprop", "finite differences of the mean loss with respect to g only, "
            "then backward_pass (which divides by n again)",
            {"my_nn_finite_difference_checker": [(NN_FD_BODY,
                "    g, caches = forward_pass(X_batch, weight_matrices, biases, activations)\n"
                "    dL_dg = np.reshape([finite_difference_checker(lambda g_: logistic_loss(g_, y_batch)[0].mean(), g, k)\n"
                "                        for k in range(g.size)], g.shape)\n"
                "    grad_Ws, grad_bs = backward_pass(dL_dg, caches)\n")]},
            [NN_FD], "called backward_pass"),
    _mutant("nn_fd_dL_dg_then_backprop_exact", "finite differences of each example's loss with respect "
            "to g only, then backward_pass: the numbers are right, but nothing is checked independently",
            {"my_nn_finite_difference_checker": [(NN_FD_BODY,
                "    g, caches = forward_pass(X_batch, weight_matrices, biases, activations)\n"
                "    dL_dg = np.reshape([finite_difference_checker(lambda g_: logistic_loss(g_, y_batch)[0].sum(), g, k)\n"
                "                        for k in range(g.size)], g.shape)\n"
                "    grad_Ws, grad_bs = backward_pass(dL_dg, caches)\n")]},
            [NN_FD], "called backward_pass"),
    # --- activations ---------------------------------------------------------------------------
    _mutant("sigmoid_naive_overflow", "1 / (1 + exp(-s)): overflows with a RuntimeWarning at s = -1000",
            {"sigmoid_activation": [(SIGMOID_CORE, "    out = 1 / (1 + np.exp(-s))\n")]},
            [SIGMOID], "RuntimeWarning: overflow"),
    _mutant("sigmoid_where_overflow", "np.where(s >= 0, 1/(1+exp(-s)), exp(s)/(1+exp(s))): np.where "
            "evaluates both branches, which overflow",
            {"sigmoid_activation": [(SIGMOID_CORE,
                                     "    s = np.asarray(s)\n"
                                     "    out = np.where(s >= 0, 1 / (1 + np.exp(-s)), np.exp(s) / (1 + np.exp(s)))\n")]},
            [SIGMOID], "emitted a warning"),
    _mutant("sigmoid_clip_discarded", "np.clip(out, ...) without assigning the result",
            {"sigmoid_activation": [("out = np.clip(out,", "np.clip(out,")]},
            [SIGMOID], "result of np.clip was thrown away"),
    _mutant("sigmoid_exp_where_without_out", "np.exp(..., where=...) without out=: the entries left out "
            "(here s == 0, where neither strict mask holds) are uninitialised memory",
            {"sigmoid_activation": [(SIGMOID_CORE,
                                     "    s = np.asarray(s, dtype=float)\n"
                                     "    e_pos = np.exp(-s, where=s > 0)\n"
                                     "    e_neg = np.exp(s, where=s < 0)\n"
                                     "    out = np.where(s > 0, 1 / (1 + e_pos), e_neg / (1 + e_neg))\n")]},
            [SIGMOID], "'where' used without 'out'"),
    _mutant("relu_derivative_from_output", "ReLU derivative computed from the output, out >= 0, which "
            "holds for every unit (from the input it would be s > 0)",
            {"relu_activation": [("ds = (np.asarray(s) > 0)", "ds = (out >= 0)")]},
            [RELU], "ds for s = [[-2, 0.5], [3, -0.1]] is wrong"),
    _mutant("relu_np_int", "np.int (removed from NumPy) in the ReLU derivative",
            {"relu_activation": [(".astype(out.dtype)", ".astype(np.int)")]},
            [RELU, TRAINING, BATCH_LOSS], "np.int, np.float and np.bool were removed"),
    # --- loss ----------------------------------------------------------------------------------
    _mutant("loss_label_broadcast", "y (n,) combined with g (n, 1) without reshaping: an (n, n) loss",
            {"logistic_loss": [("    y = np.reshape(y, np.shape(g))  # y (n,) against g (n, 1) would broadcast to (n, n)\n", ""),
                               (").ravel()", ")")]},
            [LOSS, TRAINING], "was broadcast against one of shape (n, 1)"),
    _mutant("loss_label_broadcast_flattened", "y (n,) combined with g (n, 1) without reshaping, then .ravel(): "
            "n * n losses",
            {"logistic_loss": [("    y = np.reshape(y, np.shape(g))  # y (n,) against g (n, 1) would broadcast to (n, n)\n", "")]},
            [LOSS, TRAINING], "was broadcast against one of shape (n, 1)"),
    _mutant("loss_missing_label0_term", "the (1 - y) log(1 - g) term left out: wrong only for labels 0",
            {"logistic_loss": [("loss = -(y * np.log(g) + (1 - y) * np.log(1 - g)).ravel()",
                                "loss = -(y * np.log(g)).ravel()")]},
            [LOSS], "labels 0 are scored wrongly"),
    _mutant("dL_dg_only_y1", "dL/dg = -1 / g, right only when y = 1",
            {"logistic_loss": [(DL_DG, "dL_dg = -1 / g")]},
            [LOSS, TRAINING], "right only for y = 1"),
    _mutant("dL_dg_divided_by_n", "dL/dg divided by n inside the loss (the mean belongs in backward_pass)",
            {"logistic_loss": [(DL_DG, DL_DG + " / len(g)")]},
            [LOSS, TRAINING], "dL_dg was divided by n"),
    # --- layer, initialisation, forward ------------------------------------------------------
    _mutant("ragged_cache", "cache = np.array([x, W, activation_grad]): a ragged array, a ValueError on NumPy >= 1.24",
            {"layer_forward": [("cache = LayerCache(x, W, activation_grad)", "cache = np.array([x, W, activation_grad])")]},
            [LAYER, BACKWARD, TRAINING, BATCH_LOSS], "ragged array"),
    _mutant("constant_init", "np.full initialisation: every hidden unit identical",
            {"create_weights_and_biases": [("np.random.normal(0, 0.01, size=(d_in, d_out))", "np.full((d_in, d_out), 0.01)")]},
            [INIT], "constant initialisation"),
    _mutant("bias_wrong_dims", "biases sized by the layers' inputs (layer_dims[:-1]) instead of outputs",
            {"create_weights_and_biases": [("for d_out in layer_dims[1:]]", "for d_out in layer_dims[:-1]]")]},
            [INIT, TRAINING], "has shape (1, 784), expected (1, 200)"),
    _mutant("layer_missing_bias", "layer_forward forgets the bias: out = activation_fn(x @ W)",
            {"layer_forward": [("activation_fn(x @ W + b)", "activation_fn(x @ W)")]},
            [LAYER, BATCH_LOSS], "the bias was not added"),
    _mutant("forward_same_input", "forward_pass feeds X_batch to every layer instead of the previous output",
            {"forward_pass": [("layer_forward(output, W, b, activation_fn)", "layer_forward(X_batch, W, b, activation_fn)")]},
            [FORWARD, BATCH_LOSS, TRAINING], "matrix shapes do not line up"),
    _mutant("forward_output_flat", "forward_pass returns g of shape (n,) instead of (n, 1)",
            {"forward_pass": [("        layer_caches.append(cache)\n",
                               "        layer_caches.append(cache)\n    output = output.ravel()  # one probability per example\n")]},
            [FORWARD, TRAINING], "keep the column shape (n, 1)"),
    # --- backpropagation ---------------------------------------------------------------------
    _mutant("backward_sum_not_mean", "gradients summed over the batch instead of averaged",
            {"backward_pass": [(MEAN_SCALING, "\n")]},
            [BACKWARD, TRAINING], "summed over the batch"),
    _mutant("backward_per_example", "per-example weight gradients returned, shape (n, d_in, d_out)",
            {"backward_pass": [(GRAD_W, "grad_Ws.insert(0, cache.inputs[:, :, None] * ds[:, None, :] * len(ds))")]},
            [BACKWARD, TRAINING], "one result per example was returned"),
    _mutant("backward_averaged_separately", "inputs and deltas averaged over the batch before one outer product",
            {"backward_pass": [(GRAD_W, "grad_Ws.insert(0, np.outer(cache.inputs.mean(axis=0), ds.sum(axis=0)))")]},
            [BACKWARD, TRAINING], "averaged over the batch separately"),
    _mutant("missing_activation_derivative", "backprop without the activation's derivative (ds = delta)",
            {"backward_pass": [("ds = delta * cache.activation_grad", "ds = delta")]},
            [BACKWARD, TRAINING], "the activation's derivative is missing"),
    _mutant("wrong_transpose", "gradient of W as ds.T @ x, shape (d_out, d_in)",
            {"backward_pass": [(GRAD_W, "grad_Ws.insert(0, ds.T @ cache.inputs)")]},
            [BACKWARD, TRAINING], "a transposed result"),
    _mutant("off_by_one_layers", "backward loop over layers L-1 .. 1, missing layer 0",
            {"backward_pass": [("    for cache in reversed(layer_caches):\n",
                                "    for l in range(len(layer_caches) - 1, 0, -1):\n        cache = layer_caches[l]\n")]},
            [BACKWARD, TRAINING], "off-by-one layer indexing"),
    _mutant("bias_grad_not_averaged", "weight gradients divided by n, bias gradients summed",
            {"backward_pass": [(MEAN_SCALING, "\n"), (GRAD_W, "grad_Ws.insert(0, cache.inputs.T @ ds / len(ds))")]},
            [BACKWARD], "grad_bs for the test batch[0]"),
    # --- training and deliverables -----------------------------------------------------------
    _mutant("biases_not_updated", "training updates the weights only",
            {"train_network": [("zip(weight_matrices + biases, grad_Ws + grad_bs)", "zip(weight_matrices, grad_Ws)")]},
            [TRAINING], "never changed during training"),
    _mutant("no_reshuffle", "the training set is shuffled once, not at every epoch (no point loss expected)",
            {"train_network": [("        order = rng.permutation(len(X_train))\n",
                                "        if epoch == 0:  # shuffled once\n"
                                "            order = rng.permutation(len(X_train))\n")]},
            []),
    _mutant("labels_3_9", "predictions as digits 3 / 9 compared with labels 0 / 1",
            {"train_network": [("accuracy = np.mean((g[:, 0] > 0.5) == y)",
                                "accuracy = np.mean(np.where(g[:, 0] > 0.5, 9, 3) == y)"),
                               ("np.mean((g[:, 0] > 0.5) == y_train[batch])",
                                "np.mean(np.where(g[:, 0] > 0.5, 9, 3) == y_train[batch])")]},
            [TRAINING], "labels compared with 3 and 9"),
    _mutant("test_batch_loss_summed", "the test batch's loss summed instead of averaged",
            {"test_batch_loss": [("logistic_loss(g_batch, y_batch)[0].mean()", "logistic_loss(g_batch, y_batch)[0].sum()")]},
            [BATCH_LOSS], "the losses were summed"),
    _mutant("flatten_column_major", "images flattened column by column (order='F')",
            {"flatten_images": [("flat = images.reshape(len(images), -1)",
                                 "flat = np.array([image.flatten(order=\"F\") for image in images])")]},
            [FLATTEN], "the result for three random (28, 28) images is wrong"),
]

VARIANTS = [
    Variant("cache_tuple", "the cache as a plain tuple, unpacked in backward_pass", {
        "layer_forward": [("cache = LayerCache(x, W, activation_grad)", "cache = (x, W, activation_grad)")],
        "backward_pass": [("    for cache in reversed(layer_caches):\n        ds = delta * cache.activation_grad",
                           "    for inputs, weights, activation_grad in reversed(layer_caches):\n"
                           "        ds = delta * activation_grad"),
                          ("cache.inputs.T", "inputs.T"), ("cache.weights.T", "weights.T")]}),
    Variant("cache_dict", "the cache as a dict", {
        "layer_forward": [("cache = LayerCache(x, W, activation_grad)", 'cache = {"x": x, "W": W, "ds": activation_grad}')],
        "backward_pass": [("cache.activation_grad", 'cache["ds"]'), ("cache.inputs", 'cache["x"]'),
                          ("cache.weights", 'cache["W"]')]}),
    Variant("cache_list", "the cache as a list", {
        "layer_forward": [("cache = LayerCache(x, W, activation_grad)", "cache = [x, W, activation_grad]")],
        "backward_pass": [("cache.activation_grad", "cache[2]"), ("cache.inputs", "cache[0]"),
                          ("cache.weights", "cache[1]")]}),
    Variant("cache_object", "the cache as an instance of the student's own class", {
        "layer_forward": [("def layer_forward(",
                           "class Cache:\n"
                           "    def __init__(self, x, W, activation_grad):\n"
                           "        self.x, self.W, self.activation_grad = x, W, activation_grad\n\n\n"
                           "def layer_forward("),
                          ("cache = LayerCache(x, W, activation_grad)", "cache = Cache(x, W, activation_grad)")],
        "backward_pass": [("cache.inputs", "cache.x"), ("cache.weights", "cache.W")]}),
    Variant("dL_dg_flat", "logistic_loss returns dL_dg of shape (n,), which the contract allows", {
        "logistic_loss": [(DL_DG, f"{DL_DG}\n    dL_dg = dL_dg.ravel()")]}),
    Variant("bias_gradients_broadcast", "bias gradients of shape (d_out,), which broadcast against the "
            "(1, d_out) biases in the update", {
        "backward_pass": [("grad_bs.insert(0, ds.sum(axis=0, keepdims=True))", "grad_bs.insert(0, ds.sum(axis=0))")]}),
    Variant("mean_per_layer", "no scaling of dL_dg; each layer's gradients averaged with / n and .mean", {
        "backward_pass": [(MEAN_SCALING, "\n"), (GRAD_W, "grad_Ws.insert(0, cache.inputs.T @ ds / len(ds))"),
                          ("ds.sum(axis=0, keepdims=True)", "ds.mean(axis=0, keepdims=True)")]}),
    Variant("loops", "Python loops over the examples in logistic_loss and backward_pass (slow but right)", {
        "logistic_loss": [("    loss = -(y * np.log(g) + (1 - y) * np.log(1 - g)).ravel()\n    " + DL_DG + "\n",
                           "    loss, dL_dg = np.zeros(len(g)), np.zeros((len(g), 1))\n"
                           "    for i in range(len(g)):\n"
                           "        gi, yi = g[i, 0], y[i, 0]\n"
                           "        loss[i] = -(yi * np.log(gi) + (1 - yi) * np.log(1 - gi))\n"
                           "        dL_dg[i, 0] = -yi / gi + (1 - yi) / (1 - gi)\n")],
        "backward_pass": [(BACKWARD_LOOP_BODY,
                           "        ds = delta * cache.activation_grad\n"
                           "        grad_W = np.zeros((cache.inputs.shape[1], ds.shape[1]))\n"
                           "        grad_b = np.zeros((1, ds.shape[1]))\n"
                           "        for i in range(len(ds)):\n"
                           "            grad_W += np.outer(cache.inputs[i], ds[i])\n"
                           "            grad_b += ds[i]\n"
                           "        grad_Ws.insert(0, grad_W)\n"
                           "        grad_bs.insert(0, grad_b)\n"
                           "        delta = ds @ cache.weights.T\n")]}),
    Variant("sigmoid_logaddexp", "a different stable sigmoid: exp(-logaddexp(0, -s))", {
        "sigmoid_activation": [(SIGMOID_CORE, "    out = np.exp(-np.logaddexp(0, -np.asarray(s)))\n")]}),
    Variant("float32_training", "training in float32 (parameters, inputs and labels)", {
        "train_network": [("        order = rng.permutation(len(X_train))\n",
                           "        if epoch == 0:  # float32 is precise enough for SGD\n"
                           "            weight_matrices[:] = [W.astype(np.float32) for W in weight_matrices]\n"
                           "            biases[:] = [b.astype(np.float32) for b in biases]\n"
                           "            X_train, y_train = X_train.astype(np.float32), y_train.astype(np.float32)\n"
                           "        order = rng.permutation(len(X_train))\n")]}),
    Variant("helpers", "code split into extra helper functions (a sigmoid helper, a per-layer backward step)", {
        "sigmoid_activation": [("def sigmoid_activation(s):",
                                "def stable_sigmoid(s):\n"
                                "    \"\"\"The sigmoid from exp(-|s|) only.\"\"\"\n"
                                "    e = np.exp(-np.abs(s))\n"
                                "    return np.where(np.asarray(s) >= 0, 1 / (1 + e), e / (1 + e))\n\n\n"
                                "def sigmoid_activation(s):"),
                               (SIGMOID_CORE, "    out = stable_sigmoid(s)\n")],
        "backward_pass": [("def backward_pass(dL_dg, layer_caches):",
                           "def layer_backward(delta, cache):\n"
                           "    \"\"\"One layer back: (grad_W, grad_b, delta for the layer below).\"\"\"\n"
                           "    ds = delta * cache.activation_grad\n"
                           "    return cache.inputs.T @ ds, ds.sum(axis=0, keepdims=True), ds @ cache.weights.T\n\n\n"
                           "def backward_pass(dL_dg, layer_caches):"),
                          (BACKWARD_LOOP_BODY,
                           "        grad_W, grad_b, delta = layer_backward(delta, cache)\n"
                           "        grad_Ws.insert(0, grad_W)\n"
                           "        grad_bs.insert(0, grad_b)\n")]}),
    Variant("fd_in_place_restored", "the checker perturbs x in place and puts the saved entry back exactly", {
        "finite_difference_checker": [(FD_BODY,
                                       "    saved = x.flat[k]\n"
                                       "    x.flat[k] = saved + eps\n"
                                       "    f_plus = f(x)\n"
                                       "    x.flat[k] = saved - eps\n"
                                       "    f_minus = f(x)\n"
                                       "    x.flat[k] = saved\n"
                                       "    partial = (f_plus - f_minus) / (2 * eps)\n")]}),
]

BY_NAME = {entry.name: entry for entry in MUTANTS + VARIANTS}


# ---------------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _notebooks():
    return (nbformat.read(release.REPO / "assignment.ipynb", as_version=4),
            nbformat.read(release.MASTER, as_version=4))


@lru_cache(maxsize=None)
def points():
    """{grade_id: points} of the master's autograded (code) test cells, in notebook order."""
    return {part.grade_id: part.points for part in master.read().auto}


def notebook_for(entry):
    """The submission of a Mutant or Variant: the completed student notebook, mutated."""
    student, master = _notebooks()
    return completed(student, master, entry.mutations)


def first_failing(failed):
    """The first of the grade ids ``failed``, in notebook order (None if none)."""
    return next((g for g in points() if g in failed), None)


def verdict(entry, failed):
    """'OK', 'NOT CAUGHT' or 'WRONG CELLS' for a mutant; 'OK' or 'LOST POINTS' for a variant."""
    failed = set(failed)
    if isinstance(entry, Variant):
        return "OK" if not failed else "LOST POINTS"
    if failed == set(entry.fails):
        return "OK"
    return "NOT CAUGHT" if not failed and entry.fails else "WRONG CELLS"


# ---------------------------------------------------------------------------------------------
# Fast path: the notebook's own test cells, in one fresh kernel
# ---------------------------------------------------------------------------------------------
def _prepare_folder(folder):
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for name in release.STUDENT_FILES:
        shutil.copyfile(release.REPO / name, folder / name)


def _fast_notebook(notebook):
    """The notebook to run: test cells overwritten by the master's, plotting and optional cells out."""
    master_tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in _notebooks()[1].cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    notebook = copy.deepcopy(notebook)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if SKIPPED_IN_FAST_PATH.match(grade_id):
            continue
        if grade_id in master_tests:
            cell.source = master_tests[grade_id]
        cell.outputs = []
        cells.append(cell)
    notebook.cells = cells
    return notebook


def run_fast(notebook, cell_timeout=CELL_TIMEOUT):
    """Run ``notebook`` with the master's test cells as the grader does; return {grade_id: Loss or None}.

    The grader's own path (autograder.grading.core.run_as_grader: every case of a test cell run by the
    grader), without nbgrader's course. Every autograded test cell of the master gets an entry: None
    at full marks, else the points it lost (the share of its cases that failed) and its first failure.
    """
    with tempfile.TemporaryDirectory(prefix="bugbank-") as folder:
        _prepare_folder(Path(folder))
        _, verdicts, _ = grade_one.run_as_grader(_fast_notebook(notebook), folder, cell_timeout=cell_timeout,
                                                 submission_timeout=10 * cell_timeout)
    results = {}
    for grade_id, worth in points().items():
        verdict = verdicts.get(grade_id)
        if verdict is None:
            results[grade_id] = Loss(worth, "not run")
        elif verdict.fraction < 1:
            failure = verdict.stopped or next(case.failure for case in verdict.cases if case.failure)
            results[grade_id] = Loss(round(worth * (1 - verdict.fraction), 2), failure)
        else:
            results[grade_id] = None
    return results


def failed_cells(results):
    return {grade_id for grade_id, loss in results.items() if loss}


def own_cells():
    """{solution cell: the test cell that judges its functions}: the one whose Cases(...) names a function
    the solution cell defines, else the first test cell after it (a cell that defines no function)."""
    cells = _notebooks()[1].cells
    judged = {}  # test cell: the functions its Cases(...) names
    for cell in cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and nbgrader.get("grade"):
            named = re.search(r"Cases\(\"([^\"]*)\"\)", cell.source)
            judged[nbgrader["grade_id"]] = set(named.group(1).split(", ")) if named else set()
    owner = {}
    for index, cell in enumerate(cells):
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and nbgrader.get("solution"):
            defined = {node.name for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)}
            after = [c.metadata["nbgrader"]["grade_id"] for c in cells[index + 1:]
                     if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
            owner[nbgrader["grade_id"]] = next((g for g, functions in judged.items() if functions & defined),
                                               after[0] if after else None)
    return owner


def charged_outside(entry, results):
    """(points lost outside the buggy functions' own cells, of which where no dependency is documented)."""
    own = {own_cells()[solution] for solution in entry.mutations}
    outside = {g: loss.points for g, loss in results.items() if loss and g not in own}
    undocumented = {g: p for g, p in outside.items()
                    if not any(solution in DEPENDENCIES.get(g, ()) for solution in entry.mutations)}
    return sum(outside.values()), sum(undocumented.values())


# ---------------------------------------------------------------------------------------------
# Full path: the real grading pipeline
# ---------------------------------------------------------------------------------------------
def html_text(html):
    """What a student reads in a feedback page: the text without markup."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def grade_full(notebooks, out, workers=2, extra=()):
    """Grade {student: notebook} with ``python -m autograder.classrun.grade``.

    Returns {student: {"failed": [grade ids below full marks], "scores": {grade_id: points},
    "losses": {grade_id: Loss or None, from grades.csv}, "status", "auto_score", "reason",
    "row": the grades.csv row, "feedback": the feedback page as text}} (and writes under ``out``).
    """
    out = Path(out)
    submissions = out / "submissions"
    submissions.mkdir(parents=True, exist_ok=True)
    for student, notebook in notebooks.items():
        nbformat.write(notebook, submissions / f"{student}.ipynb")
    run = subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(submissions), "--out", str(out / "graded"),
                          "--workers", str(workers), "--blas-threads", "1", *extra],
                         cwd=release.REPO, capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"autograder.classrun.grade failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    results = {}
    with open(out / "graded" / "grades.csv") as file:
        for row in csv.DictReader(file):
            scores = {g: float(row[g]) if row[g] != "" else 0.0 for g in points()}
            feedback = out / "graded" / "feedback" / f"{row['student']}.html"
            reasons = dict(part.split(": ", 1) for part in row["reason"].split(" | ") if ": " in part)
            results[row["student"]] = {
                "failed": [g for g, p in points().items() if scores[g] < p], "scores": scores,
                "losses": {g: Loss(round(p - scores[g], 2), reasons.get(g, "lost points (no reason given)"))
                           if scores[g] < p else None for g, p in points().items()},
                "status": row["status"], "auto_score": row["auto_score"], "reason": row["reason"], "row": row,
                "feedback": html_text(feedback.read_text()) if feedback.exists() else ""}
    return results


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def _run_one(name):
    return name, run_fast(notebook_for(BY_NAME[name]))


def evaluate_fast(names, jobs=2):
    """{name: {grade_id: message or None}} through the fast path, ``jobs`` notebooks at a time."""
    with ProcessPoolExecutor(jobs) as pool:
        return dict(pool.map(_run_one, names))


def evaluate_full(names, workers=2):
    with tempfile.TemporaryDirectory(prefix="bugbank-full-") as out:
        graded = grade_full({name: notebook_for(BY_NAME[name]) for name in names}, out, workers)
    return {name: r["losses"] for name, r in graded.items()}


def message_ok(entry, results):
    """Whether the first failing cell shows the mutant's message (True when nothing is expected)."""
    if isinstance(entry, Variant) or not entry.message:
        return True
    first = first_failing(failed_cells(results))
    return first is not None and entry.message in results[first].message


def report(results, out=sys.stdout):
    """Print the mutation report for {name: {grade_id: Loss or None}}; return the headline."""
    total = sum(points().values())
    width = max(len(n) for n in results) + 2
    lines = ["Mutants (each: the correct solution with one bug); lost: all points lost, outside: lost outside the "
             "buggy function's own cell", f"{'mutant':<{width}}{'lost':>6}{'outside':>8}  {'verdict':<12}{'message':<9} "
             "failed cells"]
    caught = messages = mutant_count = 0
    outside_total = undocumented_total = 0.0
    for entry in MUTANTS:
        if entry.name not in results:
            continue
        mutant_count += 1
        failed = failed_cells(results[entry.name])
        lost = sum(loss.points for loss in results[entry.name].values() if loss)
        outside, undocumented = charged_outside(entry, results[entry.name])
        outside_total, undocumented_total = outside_total + outside, undocumented_total + undocumented
        status = verdict(entry, failed)
        caught += status == "OK"
        has_message = message_ok(entry, results[entry.name])
        messages += has_message
        shown = ", ".join(f"{g.removeprefix('test_')} {-results[entry.name][g].points:g}" for g in points()
                          if g in failed) or "-"
        lines.append(f"{entry.name:<{width}}{lost:>6g}{outside:>8g}  {status:<12}{'ok' if has_message else 'WRONG':<9} "
                     f"{shown}")
        if undocumented:
            lines.append(f"{'':<{width}}        {undocumented:g} points lost where no dependency is documented")
        if status != "OK":
            expected = ", ".join(g.removeprefix("test_") for g in points() if g in entry.fails) or "-"
            lines.append(f"{'':<{width}}        expected to fail: {expected}")
        first = first_failing(failed | set(entry.fails))
        if first:
            message = (results[entry.name].get(first) or Loss(0, "(passed)")).message.splitlines()
            lines.append(f"{'':<{width}}        {first}: {message[0][:150]}")
            if not has_message:
                lines.append(f"{'':<{width}}        expected the message {entry.message!r}")
    lines += ["", "Variants (correct solutions written differently)", f"{'variant':<{width}}{'kept':>6}  verdict"]
    full = variant_count = 0
    for entry in VARIANTS:
        if entry.name not in results:
            continue
        variant_count += 1
        failed = failed_cells(results[entry.name])
        kept = total - sum(loss.points for loss in results[entry.name].values() if loss)
        status = verdict(entry, failed)
        full += status == "OK"
        lines.append(f"{entry.name:<{width}}{kept:>6g}  {status}")
        for grade_id in (g for g in points() if g in failed):
            lines.append(f"{'':<{width}}        {grade_id}: {results[entry.name][grade_id].message.splitlines()[0][:150]}")
    bare = sum(bool(BARE_EXCEPTION.match(loss.message)) for entries in results.values() for loss in entries.values()
               if loss)
    score = (f"{caught}/{mutant_count} mutants caught exactly, {full}/{variant_count} variants at full marks, "
             f"{outside_total:g} points lost outside the buggy function ({undocumented_total:g} where no dependency "
             f"is documented), {bare} reasons a bare exception")
    lines += ["", f"first failing cell shows the expected message: {messages}/{mutant_count}", score]
    print("\n".join(lines), file=out)
    return score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="grade with the real pipeline (autograder.classrun.grade)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at a time (fast path) or grading workers")
    parser.add_argument("names", nargs="*", help="only these mutants and variants (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(BY_NAME)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown names: {', '.join(unknown)}")
    started = time.perf_counter()
    results = evaluate_full(names, args.jobs) if args.full else evaluate_fast(names, args.jobs)
    report(results)
    print(f"({'full pipeline' if args.full else 'fast path'}, {len(names)} notebooks, "
          f"{time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
