"""The kit's processes start without the Lark grammar jsonschema would build for two string formats it never
checks (autograder/__init__.py): about 1 s of CPU saved in every grading process, command and test process."""
import subprocess
import sys

from autograder.assignment import release

LOADED = "import sys, autograder, nbformat, jsonschema; print('rfc3987_syntax' in sys.modules and " \
         "sys.modules['rfc3987_syntax'] is not None)"
VALIDATES = "import autograder, nbformat; nbformat.validate(nbformat.read({path!r}, as_version=4)); print('valid')"


def test_the_kit_does_not_load_the_iri_grammar():
    run = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_notebooks_are_still_validated():
    run = subprocess.run([sys.executable, "-c", VALIDATES.format(path=str(release.MASTER))], capture_output=True,
                         text=True, check=True)
    assert run.stdout.strip() == "valid"
