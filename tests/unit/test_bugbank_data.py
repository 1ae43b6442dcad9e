"""The bug bank's data files (qa/mutants/, qa/variants/): each loads, applies to the current master and
names real graded cells; a broken file is refused with an error that names it. No kernel: seconds."""
import nbformat
import pytest
import yaml

from autograder.assignment import master, release
from autograder.build.examples import completed
from qa import bank

FILES = [(path, bank.Mutant) for path in sorted(bank.MUTANTS_FOLDER.iterdir())] + \
        [(path, bank.Variant) for path in sorted(bank.VARIANTS_FOLDER.iterdir())]
REQUIRED = {bank.Mutant: {"name", "description", "mutations", "fails"},
            bank.Variant: {"name", "description", "mutations"}}


@pytest.fixture(scope="module")
def filled_in():
    """{grade_id: source} of the solution cells of the student notebook filled in with the master's solutions."""
    student = nbformat.read(release.REPO / "assignment.ipynb", as_version=4)
    notebook = completed(student, nbformat.read(release.MASTER, as_version=4))
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


@pytest.mark.parametrize("path, kind", FILES, ids=[path.name for path, _ in FILES])
def test_every_file_loads_with_its_fields(path, kind):
    fields = yaml.safe_load(path.read_text())
    assert REQUIRED[kind] <= fields.keys(), f"{path}: missing {REQUIRED[kind] - fields.keys()}"
    entry = bank.read_entry(path, kind)
    assert path.name.endswith(f"-{entry.name}.yaml")
    assert entry.description and entry.mutations
    if kind is bank.Mutant and entry.fails:
        assert entry.message, f"{path}: the student's message is missing"


def test_every_mutation_applies_to_the_master_exactly_once(filled_in):
    for entry in bank.MUTANTS + bank.VARIANTS:
        for grade_id, replacements in entry.mutations.items():
            code = filled_in[grade_id]
            for find, replace in replacements:
                assert code.count(find) == 1, f"{entry.name}: {find!r} occurs {code.count(find)} times in {grade_id}"
                code = code.replace(find, replace)


def test_names_are_unique():
    names = [entry.name for entry in bank.MUTANTS + bank.VARIANTS]
    assert sorted(names) == sorted(set(names)), f"names used twice: {sorted({n for n in names if names.count(n) > 1})}"
    assert len(bank.BY_NAME) == len(FILES)


def test_expected_failing_cells_are_graded_cells_of_the_master():
    graded = {part.grade_id for part in master.read().auto}
    for mutant in bank.MUTANTS:
        assert mutant.fails <= graded, f"{mutant.name}: not autograded cells of the master: {mutant.fails - graded}"


def test_the_bank_has_at_least_20_mutants():
    assert len(bank.MUTANTS) >= 20, f"the issue asks for at least 20 mutants, the bank has {len(bank.MUTANTS)}"


GOOD = """name: sum_not_mean
description: gradients summed over the batch
mutations:
  backward_pass:
  - find: delta = np.reshape(dL_dg, (len(dL_dg), -1)) / len(dL_dg)
    replace: delta = np.reshape(dL_dg, (len(dL_dg), -1))
fails: [test_backward_pass, test_training]
message: summed over the batch
"""


def test_a_well_formed_file_reads_as_its_mutant(tmp_path):
    path = tmp_path / "07-sum_not_mean.yaml"
    path.write_text(GOOD)
    mutant = bank.read_entry(path, bank.Mutant)
    assert mutant == bank.Mutant("sum_not_mean", "gradients summed over the batch", {"backward_pass": [(
        "delta = np.reshape(dL_dg, (len(dL_dg), -1)) / len(dL_dg)", "delta = np.reshape(dL_dg, (len(dL_dg), -1))")]},
        frozenset({"test_backward_pass", "test_training"}), "summed over the batch")


@pytest.mark.parametrize("change, problem", [
    (("fails:", "fail:"), "unknown field 'fail'"),
    (("message: summed over the batch\n", ""), "needs a 'message'"),
    (("description: gradients summed over the batch\n", ""), "missing field 'description'"),
    (("name: sum_not_mean", "name: summed"), "differs from the file's name"),
    (("    replace: delta", "    replace: 3\n    other: delta"), "must be a list of {find: text, replace: text}"),
    (("/ len(dL_dg)\n", "/ n\n"), "occurs 0 times in the master's code"),
    (("find: delta = np.reshape(dL_dg, (len(dL_dg), -1)) / len(dL_dg)", "find: len(dL_dg)"), "occurs 2 times"),
    (("  backward_pass:", "  backward:"), "'backward' is not a solution cell of the master"),
])
def test_a_broken_file_is_refused_with_its_name(tmp_path, change, problem):
    path = tmp_path / "07-sum_not_mean.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(bank.BankFileError) as error:
        bank.read_entry(path, bank.Mutant)
    assert str(error.value).startswith(f"{path}: ") and problem in str(error.value)


def test_a_file_named_without_its_number_is_refused(tmp_path):
    (tmp_path / "sum_not_mean.yaml").write_text(GOOD)
    with pytest.raises(bank.BankFileError, match="sum_not_mean.yaml: a bank file is named NN-name.yaml"):
        bank.load(tmp_path, bank.Mutant)


def test_files_load_in_the_order_of_their_numbers(tmp_path):
    for number, name in [(10, "b"), (9, "c"), (1, "a")]:
        (tmp_path / f"{number}-{name}.yaml").write_text(
            GOOD.replace("sum_not_mean", name).replace("fails: [test_backward_pass, test_training]", "fails: []"))
    assert [entry.name for entry in bank.load(tmp_path, bank.Mutant)] == ["a", "c", "b"]
