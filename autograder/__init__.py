"""The hw2 grader, in wings along the data's way (docs/architecture.md draws it):

    assignment/  the master model: parts, points, release files, version, cases (imported by everyone)
    sandbox/     the kernel launcher and its limits (imports nothing of the kit)
    intake/      submissions from folders, zips, Canvas and Gradescope downloads; submission times
    grading/     the core: one notebook in, a result bundle out (nbgrader's pipeline, hidden cases)
    outputs/     grades.csv, Canvas CSV, class report, similarity report, from graded data
    classrun/    a class: scheduling, the ledger, the gradebook merge, hand grades, regrades
    lms/         front-ends that call the core: Gradescope's run_autograder, formgrader
    build/       everything generated from the master (student notebook, cases, examples, releases)

Which wing may import which is written once, in tests/unit/test_layers.py, and tested.
"""
import os
import sys

# jsonschema, under nbformat, imports rfc3987_syntax where it is installed (jupyter-events' jsonschema extra brings
# it) only to check the "iri" string formats, which no schema the kit validates uses; that module builds a Lark
# grammar as it is imported: about 1 s of CPU in every process that reads a notebook (every grading process, every
# command, every test process). Marked missing here, before anything imports nbformat, jsonschema goes on without
# those two formats.
sys.modules.setdefault("rfc3987_syntax", None)

# nbformat checks a notebook against its schema each time it reads or writes one (a dozen times per grading):
# fastjsonschema (an nbformat dependency) takes 1 ms for a submission where jsonschema takes 18 ms. An invalid
# notebook's errors still come from jsonschema, which nbformat asks again to describe them.
os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")
