"""Data helpers for hw2: backpropagation on MNIST threes vs nines.

Loads the MNIST subset and the public test batch shipped in ``data/``, and displays digits.
Nothing here touches the network: the data files are part of the kit.
"""

import hashlib
import pickle
from collections import namedtuple
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
MNIST_SUBSET_PATH = DATA_DIR / "mnist_threes_nines.npz"
MNIST_SUBSET_SHA256 = "e6f0fab14685f0e468cf5bd0262eede3752521ec9f4bf214845981a51655ad0b"
TEST_BATCH_PATH = DATA_DIR / "test_batch_weights_biases.pkl"
PUBLIC_CASES_PATH = DATA_DIR / "public_cases.pkl"

_RESTORE_HINT = (
    "Copy data/mnist_threes_nines.npz again from the assignment folder you were given (it must sit in "
    "the data folder next to hw2.py); instructors can restore it from the kit's repository or rebuild it "
    "with `python -m autograder.build.mnist_subset` (see its --help)."
)

TestBatch = namedtuple("TestBatch", ["X_batch", "y_batch", "weight_matrices", "biases"])


class DataFileError(RuntimeError):
    """A data file of the kit is missing, unreadable or not the expected version."""


def _sha256_of_file(path):
    """Return the SHA-256 hex digest of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified_mnist_subset_path():
    """Return ``MNIST_SUBSET_PATH`` after checking its SHA-256; raise DataFileError otherwise."""
    path = MNIST_SUBSET_PATH
    try:
        actual_sha256 = _sha256_of_file(path)
    except FileNotFoundError:
        raise DataFileError(f"MNIST data file {path} is missing. {_RESTORE_HINT}") from None
    except OSError as error:
        raise DataFileError(f"MNIST data file {path} cannot be read ({error}). {_RESTORE_HINT}") from None
    if actual_sha256 != MNIST_SUBSET_SHA256:
        raise DataFileError(
            f"MNIST data file {path} is corrupted or the wrong version: its SHA-256 is "
            f"{actual_sha256}, expected {MNIST_SUBSET_SHA256}. {_RESTORE_HINT}"
        )
    return path


def get_mnist_threes_nines():
    """Load the MNIST threes and nines, in the original MNIST order.

    Returns:
        ``(X_train, y_train), (X_test, y_test)``, fresh arrays on every call:
        X_train: float64 array of shape (12080, 28, 28), pixel values in [0, 1].
        y_train: int64 array of shape (12080,), 1 for a nine and 0 for a three.
        X_test: float64 array of shape (2019, 28, 28), pixel values in [0, 1].
        y_test: int64 array of shape (2019,), 1 for a nine and 0 for a three.

    Raises:
        DataFileError: ``data/mnist_threes_nines.npz`` is missing, unreadable or fails its checksum.
    """
    with np.load(_verified_mnist_subset_path(), allow_pickle=False) as stored:
        return _threes_nines(stored, "train"), _threes_nines(stored, "test")


def get_mnist_threes_nines_test_set():
    """Load only the MNIST threes and nines of the test set, in the original MNIST order: the test half of
    ``get_mnist_threes_nines()``, without reading or converting the training set.

    Returns:
        ``(X_test, y_test)``, fresh arrays on every call:
        X_test: float64 array of shape (2019, 28, 28), pixel values in [0, 1].
        y_test: int64 array of shape (2019,), 1 for a nine and 0 for a three.

    Raises:
        DataFileError: ``data/mnist_threes_nines.npz`` is missing, unreadable or fails its checksum.
    """
    with np.load(_verified_mnist_subset_path(), allow_pickle=False) as stored:
        return _threes_nines(stored, "test")


def _threes_nines(stored, split):
    """``(X, y)`` of ``split`` ("train" or "test") from the opened npz ``stored``, which holds uint8 arrays
    x_{split} of shape (N, 28, 28) and y_{split} of shape (N,) (digits 3 and 9); only those two are read.

    Returns:
        X: float64 array of shape (N, 28, 28), the pixels divided by 255.
        y: int64 array of shape (N,), 1 for a nine and 0 for a three.
    """
    return stored[f"x_{split}"] / 255.0, (stored[f"y_{split}"] == 9).astype(np.int64)


def display_image(image, ax=None, title=None):
    """Show one digit in grayscale, without axis ticks.

    Args:
        image: real-valued array of shape (28, 28) or (784,), any real dtype.
        ax: matplotlib Axes to draw on; defaults to the current Axes.
        title: optional title for the Axes.

    Returns:
        The matplotlib Axes holding the image.

    Raises:
        ValueError: ``image`` has another shape.
        TypeError: ``image`` is not real-valued.
    """
    image = np.asarray(image)
    if image.shape not in ((28, 28), (784,)):
        raise ValueError(f"display_image expects an image of shape (28, 28) or (784,), got shape {image.shape}")
    if image.dtype.kind not in "biuf":
        raise TypeError(f"display_image expects a real-valued image, got dtype {image.dtype}")
    if ax is None:
        ax = plt.gca()
    ax.imshow(image.reshape(28, 28).astype(np.float64), cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def load_test_batch():
    """Load the public test batch of a [4, 2, 1] network from ``data/test_batch_weights_biases.pkl``.

    Returns:
        TestBatch ``(X_batch, y_batch, weight_matrices, biases)``:
        X_batch: float64 array of shape (2, 4).
        y_batch: float64 array of shape (2,).
        weight_matrices: list of float64 arrays of shapes [(4, 2), (2, 1)].
        biases: list of float64 arrays of shapes [(1, 2), (1, 1)].
    """
    with open(TEST_BATCH_PATH, "rb") as stream:
        return TestBatch(*pickle.load(stream))


def load_public_cases(function):
    """The public test cases of ``function`` (a str, e.g. "forward_pass") from ``data/public_cases.pkl``.

    Returns:
        list of dicts, one per case: "label" (str, what the case tries), the inputs under the names of
        the function's arguments, and the expected results (float arrays), e.g. for relu_activation
        {"label": ..., "s": array, "out": array, "ds": array}. The grader's hidden cases are of the
        same kinds, drawn from other random numbers.
    """
    with open(PUBLIC_CASES_PATH, "rb") as stream:
        return pickle.load(stream)[function]
