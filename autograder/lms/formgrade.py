"""Open nbgrader's formgrader on a graded class, for grading by hand.

    python -m autograder.lms.formgrade OUT [jupyter lab options]     # ./kit formgrade OUT

Runs JupyterLab in OUT/course (where nbgrader reads the course's configuration) with what a server
that shows students' work needs: no terminals (the page runs with the grader's token; a terminal
would be a root shell for any script that got in) and nbconvert's HTML sanitizer on, on top of the
grader's own (autograder.grading.sanitize), which has already made the autograded notebooks inert.
"""
import argparse
import os
import sys
from pathlib import Path

SERVER_OPTIONS = ["--ServerApp.terminals_enabled=False", "--HTMLExporter.sanitize_html=True"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the grader's output folder (it holds course/)")
    args, jupyter_options = parser.parse_known_args(argv)
    root = args.out / "course"
    if not (root / "gradebook.db").exists():
        parser.error(f"{root} holds no gradebook: grade first (./kit grade SUBMISSIONS --out {args.out})")
    os.chdir(root)
    command = [sys.executable, "-m", "jupyter", "lab", *SERVER_OPTIONS, *jupyter_options]
    print("formgrader: open Nbgrader > Formgrader in JupyterLab's menu (" + " ".join(command[2:]) + ")")
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
