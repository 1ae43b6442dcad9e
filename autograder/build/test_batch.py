"""Write data/test_batch_weights_biases.pkl, the public test batch of hw2.

The file is a pickled plain 4-tuple ``(X_batch, y_batch, weight_matrices, biases)`` for a
[4, 2, 1] network, with the values of the original homework. Pickle protocol 4 is fixed so the
bytes are reproducible.

    python -m autograder.build.test_batch
"""

import argparse
import hashlib
import pickle
from pathlib import Path

import numpy as np

import hw2

PICKLE_PROTOCOL = 4


def make_test_batch():
    """Return the test batch.

    Returns:
        ``(X_batch, y_batch, weight_matrices, biases)``, all float64:
        X_batch of shape (2, 4), y_batch of shape (2,),
        weight_matrices a list of arrays of shapes [(4, 2), (2, 1)],
        biases a list of arrays of shapes [(1, 2), (1, 1)].
    """
    X_batch = np.array(
        [
            [0.9817849455617458, 0.32574182295810183, 0.3936760173327711, 0.17309335830164496],
            [-0.3627097472007129, 0.05783131824928253, 1.0908763442418186, -0.19926157288007548],
        ],
        dtype=np.float64,
    )
    y_batch = np.array([1.0, 1.0], dtype=np.float64)
    weight_matrices = [
        np.array(
            [
                [-0.00427741985738134, -0.00175934112053757],
                [0.02597773388007592, 0.01450439097670718],
                [0.01462573428036798, 0.02592555039505862],
                [0.00215991723128438, 0.00019206840771245],
            ],
            dtype=np.float64,
        ),
        np.array([[0.00451399584783131], [-0.00021486078847729]], dtype=np.float64),
    ]
    biases = [
        np.array([[-0.01380297760975279, -0.00553111642636228]], dtype=np.float64),
        np.array([[-0.0107179189762918]], dtype=np.float64),
    ]
    return X_batch, y_batch, weight_matrices, biases


def main(argv=None):
    """Write the pickled test batch to the path given by --out and print its SHA-256."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder.build.test_batch",
        description="Write the public test batch of hw2 as a reproducible pickle.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=hw2.TEST_BATCH_PATH,
        metavar="PATH",
        help="where to write the pickle (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    data = pickle.dumps(make_test_batch(), protocol=PICKLE_PROTOCOL)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes), SHA-256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
