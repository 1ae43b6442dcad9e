"""Open nbgrader's formgrader on a graded class, for grading by hand.

    python -m autograder.lms.formgrade OUT [jupyter lab options]     # ./kit formgrade OUT

Runs JupyterLab in OUT/course (where nbgrader reads the course's configuration) with what a server
that shows students' work needs: no terminals (the page runs with the grader's token; a terminal
would be a root shell for any script that got in) and nbconvert's HTML sanitizer on, on top of the
grader's own (autograder.grading.sanitize), which has already made the autograded notebooks inert.
As root (which the sandbox needs for grading) it passes Jupyter's --allow-root itself, and says so.

Formgrader's autograde and feedback buttons grade in the server's process as ./kit grade does (the
course's nbgrader_config.py: autograder.classrun.nbgrader_commands). Where the sandbox can be made,
the server gets a mount namespace of its own before Jupyter starts a thread
(environment.private_mounts), so that each grading kernel's ipc folder is a size-limited tmpfs there.
"""
import argparse
import os
import sys
from pathlib import Path

from autograder.grading import environment
from autograder.sandbox import kernel_launcher

SERVER_OPTIONS = ["--ServerApp.terminals_enabled=False", "--HTMLExporter.sanitize_html=True"]
AS_ROOT = "--allow-root"  # Jupyter refuses to start as root without it


def jupyter_command(jupyter_options, as_root):
    """The command (list of str) that opens JupyterLab with SERVER_OPTIONS and the user's
    ``jupyter_options`` (list of str); ``as_root`` (bool): this process runs as root."""
    root_option = [AS_ROOT] if as_root and AS_ROOT not in jupyter_options else []
    return [sys.executable, "-m", "jupyter", "lab", *SERVER_OPTIONS, *root_option, *jupyter_options]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the grader's output folder (it holds course/)")
    args, jupyter_options = parser.parse_known_args(argv)
    root = args.out / "course"
    if not (root / "nbgrader_config.py").exists():  # written by ./kit grade, with the gradebook's URL when not SQLite
        parser.error(f"{root} is no class course yet: grade first (./kit grade SUBMISSIONS --out {args.out})")
    os.chdir(root)
    command = jupyter_command(jupyter_options, as_root=os.geteuid() == 0)
    if AS_ROOT in command and AS_ROOT not in jupyter_options:
        print(f"formgrader: running as root, so with Jupyter's {AS_ROOT} (no terminals are offered)")
    if kernel_launcher.sandbox_tier() == "full" and environment.single_threaded():  # the server's threads will share it
        environment.private_mounts()
        print("formgrader: in a mount namespace of its own (the grading kernels' ipc folders are tmpfs there)")
    print("formgrader: open Nbgrader > Formgrader in JupyterLab's menu (" + " ".join(command[2:]) + ")")
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
