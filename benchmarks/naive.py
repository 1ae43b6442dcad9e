"""What a beginner writes: activations with np.vectorize, one Python call per entry (benchmarks and tests)."""
import math

import numpy as np


def naive_relu(s):
    """s float array (n, d) -> (out, ds), float64 arrays (n, d)."""
    return np.vectorize(lambda v: max(v, 0.0))(s), np.vectorize(lambda v: 1.0 if v > 0 else 0.0)(s)


def naive_sigmoid(s):
    """A stable, clipped sigmoid: s float array (n, d) -> (out, grad), float64 arrays (n, d)."""
    out = np.vectorize(lambda v: min(max(1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)),
                                         1e-15), 1 - 1e-15))(s)
    return out, out * (1 - out)
