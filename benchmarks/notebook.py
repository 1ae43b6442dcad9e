"""Wall time of the master notebook end to end, and the test accuracy it reaches.

    python -m benchmarks.notebook [--repeats 3]

Runs solutions/master.ipynb (hidden tests included) in a fresh kernel, as `./kit build solution`
does, and prints the median time of the repeats. Target: at most 60 s on 2 cores, 98% accuracy.
"""
import argparse
import re
import statistics
import tempfile
from pathlib import Path

import nbformat

from autograder.build import generate as build


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    seconds, accuracies = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            out, elapsed = build.execute_solution(out=Path(scratch) / "run.ipynb")
            text = "".join(o.get("text", "") for c in nbformat.read(out, as_version=4).cells
                           for o in c.get("outputs", []))
            accuracy = float(re.search(r"final test accuracy ([\d.]+)%", text).group(1))
            seconds.append(elapsed)
            accuracies.append(accuracy)
            print(f"run {repeat + 1}: {elapsed:.1f} s, final test accuracy {accuracy:.2f}%")
    print(f"\nmaster notebook end to end: median {statistics.median(seconds):.1f} s over {args.repeats} runs "
          f"(target <= 60 s); test accuracy {min(accuracies):.2f}% (target >= 98%)")


if __name__ == "__main__":
    main()
