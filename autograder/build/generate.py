"""Rebuild every generated file from the master notebook.

    python -m autograder.build.generate            # all of the below
    python -m autograder.build.generate student    # assignment.ipynb, via nbgrader generate_assignment; its cells
                                          # and points added to generated/releases.json when new
    python -m autograder.build.generate hidden     # generated/hidden_reference.pkl
    python -m autograder.build.generate solution   # generated/solution_executed.ipynb, the master run end to end
    python -m autograder.build.generate examples   # examples/submissions/, the bundled sample submissions

Generated files are never edited by hand; tests fail when a committed copy drifts from its source.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time

import nbformat

from autograder.assignment import cases, master, release
from autograder.build import examples
from autograder.grading import core, course, options, review

STUDENT_NOTEBOOK = release.REPO / "assignment.ipynb"
EXECUTED_SOLUTION = release.GENERATED / "solution_executed.ipynb"


def build_student_notebook(out=STUDENT_NOTEBOOK):
    """Generate the student notebook with nbgrader and write it to ``out``."""
    with tempfile.TemporaryDirectory() as root:
        released = course.generate_release(root)
        shutil.copyfile(released / f"{release.NOTEBOOK}.ipynb", out)
    return out


def record_release(notebook=STUDENT_NOTEBOOK, releases=release.RELEASES):
    """Add the release record of ``notebook`` (review.release_record) to the releases file unless it is
    there already: a submission made from any earlier release is compared with that release (a points
    change is the instructor's, not tampering). Returns True when it was added."""
    record = review.release_record(nbformat.read(notebook, as_version=4))
    known = review.load_releases(releases)
    if any(entry["cells"] == record["cells"] and entry["code"] == record["code"] for entry in known):
        return False
    known.append({"master_version": release.master_version(), **record})
    releases.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    return True


README = release.REPO / "README.md"
TABLE_START, TABLE_END = ("<!-- points table: written by ./kit build from the master notebook; do not edit -->",
                          "<!-- end of points table -->")


def readme_with_points_table(text):
    """The README's text with the points table between its markers made from the master."""
    before, rest = text.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    return f"{before}{TABLE_START}\n{master.points_table(master.read())}\n{TABLE_END}{after}"


def write_points_table(readme=README):
    readme.write_text(readme_with_points_table(readme.read_text()))
    return readme


class SolutionFailed(RuntimeError):
    """The master's own solution does not pass every test cell."""


def execute_solution(out=EXECUTED_SOLUTION, timeout=600):
    """Run the master notebook end to end as the grader runs a submission (each test cell's hidden
    part in the grader) and save it with its outputs; SolutionFailed unless every test cell passes.
    BLAS threads: as one grader's kernel gets them (options.default_blas_threads)."""
    with tempfile.TemporaryDirectory() as root:
        source = course.make_source(root)
        notebook = nbformat.read(source / f"{release.NOTEBOOK}.ipynb", as_version=4)
        started = time.perf_counter()
        notebook, verdicts, _ = core.run_as_grader(notebook, source, cell_timeout=timeout,
                                                        submission_timeout=timeout,
                                                        blas_threads=options.default_blas_threads(1))
        seconds = time.perf_counter() - started
    failed = {grade_id: verdict.summary(1) for grade_id, verdict in verdicts.items() if verdict.fraction < 1}
    if failed:
        raise SolutionFailed(f"the master fails its own test cells: {failed}")
    nbformat.write(notebook, out)
    return out, seconds


def main(argv=None):
    """./kit build: a master that cannot be built from is said in one line (no traceback), exit status 1."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["all", "student", "hidden", "solution", "examples"], default="all")
    what = parser.parse_args(argv).what
    try:
        build(what)
    except (release.MasterError, SolutionFailed) as error:
        sys.exit(f"./kit build stopped: {error}")


def build(what):
    """Build ``what`` ('all', 'student', 'hidden', 'solution' or 'examples'), after release.check_master."""
    release.check_master()
    print(f"wrote the points table in {write_points_table()}")
    if what in ("all", "hidden"):
        cases.main([])
    if what in ("all", "student"):
        print(f"wrote {build_student_notebook()}")
        if record_release():
            print(f"added this release to {release.RELEASES.relative_to(release.REPO)}: keep it (commit it), so that "
                  "notebooks downloaded before are compared with the release they came from")
    if what in ("all", "examples"):
        examples.main()
    if what in ("all", "solution"):
        out, seconds = execute_solution()
        print(f"wrote {out} (ran in {seconds:.1f} s)")


if __name__ == "__main__":
    main()
