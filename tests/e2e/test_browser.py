"""The notebook in JupyterLab and the formgrader, in a real browser (Debian's headless Chromium, driven
by Playwright): what a student sees running the untouched release and the reference solution, and
what a grader sees and does on a graded submission. Screenshots go to test-artifacts/ ($HW2_ARTIFACTS).
"""
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import warnings
from contextlib import contextmanager

import attacks
import nbformat
import pytest
from browser import REPO, artifacts, chromium, jupyter_lab
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.assignment import release
from autograder.grading import course
from autograder.lms import formgrade
from autograder.sandbox.kernel_launcher import sandbox_tier

EXECUTED_SOLUTION = REPO / "generated" / "solution_executed.ipynb"
RUN_TIMEOUT_MS = 240_000  # the solution runs in about 15 s alone, several times that next to a busy test worker
BLAS_VARIABLES = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]
# Every cell of the open notebook, in order, as the student sees it.
READ_CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => ({
    code: cell.classList.contains('jp-CodeCell'),
    prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
    stderr: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(output => output.textContent),
    text: [...cell.querySelectorAll('.jp-OutputArea-output')].map(output => output.textContent).join('\\n'),
    images: [...cell.querySelectorAll('.jp-OutputArea-output img')].map(img => img.naturalWidth),
}))"""
RUN_FINISHED = """() => document.querySelector('.jp-Notebook-ExecutionIndicator').dataset.status === 'idle'
    && ![...document.querySelectorAll('.jp-InputPrompt')].some(prompt => prompt.textContent.includes('*'))"""
CELL_RAN = """i => /\\[\\d+\\]/.test(document.querySelectorAll('.jp-Notebook .jp-Cell')[i]
    .querySelector('.jp-InputPrompt').textContent)"""


@pytest.fixture(autouse=True)
def one_blas_thread(monkeypatch):
    """One BLAS thread per kernel: the tests run two at a time on two cores (a user's setting wins)."""
    for name in BLAS_VARIABLES:
        monkeypatch.setenv(name, os.environ.get(name, "1"))


@contextmanager
def browser_on(root, tmp_path, name, options=(), launcher=None):
    """A page of a fresh Chromium on a JupyterLab serving ``root`` (more server ``options``, started by
    ``launcher``: see browser.jupyter_lab); a failure leaves ``<name>-failure.png``."""
    failure = artifacts() / f"{name}-failure.png"
    failure.unlink(missing_ok=True)
    with jupyter_lab(root, tmp_path / "lab", options, launcher=launcher) as lab, chromium(tmp_path / "chromium") as browser:
        page = browser.new_page()
        page.set_default_timeout(180_000)  # a busy 2-core machine
        try:
            yield lab, page
        except BaseException:
            page.screenshot(path=failure)
            raise


def open_notebook(lab, page, name, timeout=120):
    """Open ``name`` and wait until its kernel is idle and connected to the page (Run All before that
    is dropped: JupyterLab clears the cells it cannot send to a kernel)."""
    page.goto(lab.url(f"lab/tree/{name}"))
    deadline = time.monotonic() + timeout
    while not any(session["path"] == name and session["kernel"]["execution_state"] == "idle"
                  and session["kernel"]["connections"] for session in lab.api("sessions")):
        if time.monotonic() > deadline:
            pytest.fail(f"the kernel of {name} should start and connect to the page within {timeout} s, "
                        f"the server reports {lab.api('sessions')}; its log ends:\n{lab.log_tail()}", pytrace=False)
        time.sleep(0.2)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]')


def run_all(page):
    """Run > Run All Cells, then wait until no cell is queued and the kernel is idle."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function("() => [...document.querySelectorAll('.jp-InputPrompt')].some(p => /\\[[\\d*]+\\]/"
                           ".test(p.textContent))")
    page.wait_for_function(RUN_FINISHED, timeout=RUN_TIMEOUT_MS)
    return page.evaluate(READ_CELLS)


def error_name(cell):
    """The exception a cell's traceback shows, or None."""
    match = re.search(r"^(\w+)\s+Traceback \(most recent call last\)", "\n".join(cell["stderr"]), re.M)
    return match and match.group(1)


def grade_ids(notebook):
    return [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]


def screenshot_cell(page, index, name):
    page.locator(".jp-Notebook .jp-Cell").nth(index).scroll_into_view_if_needed()
    page.screenshot(path=artifacts() / name)


def test_untouched_student_notebook_stops_at_each_stub_in_jupyterlab(tmp_path):
    root = tmp_path / "release"
    for name in [f"{release.NOTEBOOK}.ipynb", *release.STUDENT_FILES]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, root / name)
    notebook = nbformat.read(root / f"{release.NOTEBOOK}.ipynb", as_version=4)
    ids = grade_ids(notebook)
    first_stub = next(i for i, cell in enumerate(notebook.cells)  # the first code cell a student writes
                      if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"))

    with browser_on(root, tmp_path, "student") as (lab, page):
        open_notebook(lab, page, f"{release.NOTEBOOK}.ipynb")
        cells = run_all(page)
        screenshot_cell(page, first_stub, "student-run-all.png")
        failed = [i for i, cell in enumerate(cells) if cell["stderr"]]
        assert failed == [first_stub] and error_name(cells[first_stub]) == "NotImplementedError", (
            f"Run All on the untouched notebook should stop at the first stub ({ids[first_stub]}) with a "
            f"NotImplementedError, got errors in {[(ids[i], error_name(cells[i])) for i in failed]}; "
            f"a stub that no longer raises, or a cell before it that fails")
        assert "raise NotImplementedError()" in cells[first_stub]["stderr"][0], (
            f"the traceback should show the stub's `raise NotImplementedError()` line, it shows:\n"
            f"{cells[first_stub]['stderr'][0][-800:]}")
        assert cells[ids.index("load_data")]["images"], \
            "load_data, before the stub, should show its sample digits as an image; it shows none"
        ran_after = [ids[i] for i, cell in enumerate(cells)
                     if i > first_stub and cell["code"] and "[ ]" not in cell["prompt"]]
        assert not ran_after, \
            f"no cell after the failing stub should run (JupyterLab stops on error), these did: {ran_after}"

        # A student working down the notebook runs each remaining cell in turn (Shift+Enter).
        page.locator(".jp-Notebook .jp-Cell").nth(first_stub + 1).locator(".jp-InputPrompt").click()
        for i in range(first_stub + 1, len(cells)):
            page.keyboard.press("Shift+Enter")
            if cells[i]["code"]:
                page.wait_for_function(CELL_RAN, arg=i, timeout=RUN_TIMEOUT_MS)
        page.wait_for_function(RUN_FINISHED)
        cells = page.evaluate(READ_CELLS)
        screenshot_cell(page, ids.index("test_training"), "student-cell-by-cell.png")

    tests = [ids[i] for i, cell in enumerate(notebook.cells)  # the autograded public test cells
             if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")]
    # their input comes from a stub that raised in an earlier cell, so the name was never assigned
    name_errors = {"test_training": "history", "test_test_batch_loss": "test_batch_mean_loss"}
    shown = {grade_id: (error_name(cells[ids.index(grade_id)]), "\n".join(cells[ids.index(grade_id)]["stderr"]))
             for grade_id in tests}
    wrong = {grade_id: error for grade_id, (error, text) in shown.items()
             if error != "CheckFailed" or (f"name '{name_errors[grade_id]}' is not defined" if grade_id in name_errors
                                           else "raised NotImplementedError") not in text}
    assert len(tests) > 10 and not wrong, (
        f"each of the {len(tests)} public test cells should report its cases failing with NotImplementedError "
        f"(a name never assigned for {list(name_errors)}), these showed another error or none: {wrong}; a stub "
        f"that was filled in, or a test cell that no longer calls its function")
    passed = [ids[i] for i, cell in enumerate(cells) if re.search(r"public checks passed \(\d+ cases\)", cell["text"])]
    assert not passed, f"no public check should pass on the untouched notebook, these print 'passed': {passed}"


def test_reference_solution_runs_clean_with_plots_in_jupyterlab(tmp_path):
    root = course.make_source(tmp_path / "course")  # the master, no outputs, with its files
    master = nbformat.read(root / f"{release.NOTEBOOK}.ipynb", as_version=4)
    nbformat.write(release.without_hidden_tests(master), root / f"{release.NOTEBOOK}.ipynb")  # as a student runs it
    executed = nbformat.read(EXECUTED_SOLUTION, as_version=4)
    ids = grade_ids(executed)

    with browser_on(root, tmp_path, "solution") as (lab, page):
        open_notebook(lab, page, f"{release.NOTEBOOK}.ipynb")
        cells = run_all(page)
        screenshot_cell(page, len(cells) - 1, "solution-end.png")
        screenshot_cell(page, ids.index("plot_accuracy"), "solution-plots.png")

    assert len(cells) == len(executed.cells), (
        f"JupyterLab should show the master's {len(executed.cells)} cells, it shows {len(cells)}; "
        f"generated/solution_executed.ipynb is out of date (./kit build solution)")
    not_run = [ids[i] or i for i, cell in enumerate(cells)
               if cell["code"] and not re.search(r"\[\d+\]", cell["prompt"])]
    assert not not_run, f"Run All should run every cell of the solution, these did not run: {not_run}"
    errors = {ids[i] or i: cell["stderr"][0][:400] for i, cell in enumerate(cells) if cell["stderr"]}
    assert not errors, f"the solution should print nothing to stderr and raise nothing, got: {errors}"

    for i, cell in enumerate(executed.cells):
        outputs = cell.get("outputs", [])
        figures = sum("image/png" in output.get("data", {}) for output in outputs)
        assert len(cells[i]["images"]) == figures and all(cells[i]["images"]), (
            f"{ids[i]} should show {figures} plot(s) as loaded images, JupyterLab shows "
            f"{len(cells[i]['images'])} (natural widths {cells[i]['images']}); an inline backend that is "
            f"not active (MPLBACKEND=Agg reaching the kernel) or a figure that is never shown")
        printed = "".join(output.get("text", "") for output in outputs if output.get("name") == "stdout")
        for line in re.findall(r"^.*public checks? passed.*$", printed, re.M):
            assert line.split(" (")[0] in cells[i]["text"], \
                f"{ids[i]} should print {line!r}, JupyterLab shows {cells[i]['text'][-300:]!r}"


def plain_phrase(markdown):
    """The first run of 25+ plain characters of a markdown answer: text that renders unchanged."""
    return re.search(r"[A-Za-z][A-Za-z ,']{24,}", markdown).group(0).strip()


def manual_score(db, grade_id, student):
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush warnings
        with Gradebook(f"sqlite:///{db}") as gradebook:
            return gradebook.find_grade(grade_id, release.NOTEBOOK, release.ASSIGNMENT, student).manual_score


def grade_one_student(tmp_path, student, notebook):
    """Grade ``notebook`` as ``student`` with the real command; return the class course's folder."""
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    submissions.mkdir()
    nbformat.write(notebook, submissions / f"{student}.ipynb")
    graded = subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(submissions), "--out", str(out),
                             "--blas-threads", "1"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, \
        f"grading {student} should succeed, exit {graded.returncode}:\n{graded.stdout}\n{graded.stderr}"
    return out


def open_in_formgrader(lab, page, student):
    """Formgrader's page of ``student``'s notebook, reached as a grader does, by its menus."""
    page.goto(lab.url("formgrader"))
    page.get_by_role("link", name="Manual Grading").first.click()
    page.get_by_role("link", name=release.ASSIGNMENT, exact=True).click()
    page.get_by_role("link", name=release.NOTEBOOK, exact=True).click()
    page.wait_for_selector("a.name-shown", state="attached")  # the submissions table has loaded
    page.get_by_role("button", name="Show All Names").click()
    page.get_by_role("link", name=student, exact=True).click()
    page.wait_for_selector("input.score#answer_sigmoid_stability")
    page.wait_for_load_state("networkidle")


def test_grader_scores_a_written_answer_in_the_formgrader(tmp_path):
    submitted = nbformat.read(REPO / "examples" / "submissions" / "alice.ipynb", as_version=4)
    out = grade_one_student(tmp_path, "alice", submitted)
    root = out / "course"
    autograded = nbformat.read(root / "autograded" / "alice" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb", 4)
    with_plots = sorted(f"cell-id={cell.id}" for cell in autograded.cells
                        if any("image/png" in output.get("data", {}) for output in cell.get("outputs", [])))
    manual = [cell for cell in autograded.cells if cell.cell_type == "markdown"  # written answers and plot tasks
              and (cell.metadata.get("nbgrader", {}).get("grade") or cell.metadata.get("nbgrader", {}).get("task"))]
    answers = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in submitted.cells  # what alice wrote
               if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "markdown"}

    with browser_on(root, tmp_path, "formgrader", formgrade.SERVER_OPTIONS) as (lab, page):
        open_in_formgrader(lab, page, "alice")
        shown_plots = page.evaluate("() => [...document.querySelectorAll('.cell img')]"
                                    ".filter(img => img.naturalWidth > 0 && img.getBoundingClientRect().width > 0)"
                                    ".map(img => img.closest('.cell').id)")
        assert sorted(shown_plots) == with_plots, (
            f"the formgrader should show alice's plots in cells {with_plots}, it shows loaded images in "
            f"{sorted(shown_plots)}; images dropped by the grader or not served by the formgrader")
        for grade_id in [cell.metadata["nbgrader"]["grade_id"] for cell in manual]:
            assert page.locator(f"input.score#{grade_id}").is_visible(), \
                f"the formgrader should offer a score box for {grade_id}, none is visible"
        page_text = page.inner_text("body")
        missing = [grade_id for grade_id, source in answers.items() if plain_phrase(source) not in page_text]
        assert not missing, f"the formgrader should show alice's written answers, these are missing: {missing}"

        score = page.locator("input.score#answer_sigmoid_stability")
        score.scroll_into_view_if_needed()
        score.fill("2")
        with page.expect_response(lambda response: "/formgrader/api/grade/" in response.url
                                  and response.request.method == "PUT") as saved:
            score.press("Tab")  # the formgrader saves on change
        assert saved.value.ok, f"saving the score should succeed, the formgrader answered {saved.value.status}"
        page.screenshot(path=artifacts() / "formgrader-alice.png")
        page.reload()
        page.wait_for_load_state("networkidle")
        assert page.locator("input.score#answer_sigmoid_stability").input_value() == "2", \
            "the score entered should still show after a reload, the box shows " \
            f"{page.locator('input.score#answer_sigmoid_stability').input_value()!r}"

    stored = manual_score(root / "gradebook.db", "answer_sigmoid_stability", "alice")
    assert stored == 2, \
        f"the gradebook should store the manual score 2 for answer_sigmoid_stability, it holds {stored!r}"


RAN = "() => Object.keys(window).filter(name => name.startsWith('XSS_'))"


def test_script_in_a_submission_runs_neither_in_formgrader_nor_in_feedback(tmp_path):
    """The attack bank's script_everywhere (script in every kind of output, in a written answer, in a
    markdown and a raw cell): formgrader shows the submission with the grader's token and runs none of
    it, nor does its feedback page; the server offers no terminal."""
    attack = next(a for a in attacks.ATTACKS if a.name == "script_everywhere")
    out = grade_one_student(tmp_path, "mallory", attacks.build(attack))
    dialogs = []
    with browser_on(out / "course", tmp_path, "formgrader-script", formgrade.SERVER_OPTIONS) as (lab, page):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        open_in_formgrader(lab, page, "mallory")
        page.wait_for_timeout(1000)  # onerror and onload handlers run as images and frames load
        page.screenshot(path=artifacts() / "formgrader-script.png")
        assert page.evaluate(RAN) == [] and not dialogs, \
            f"script from the submission ran in formgrader: {page.evaluate(RAN)} {dialogs}"
        assert "window.XSS_ANSWER2=1" in page.inner_text("body"), \
            "the written answer's script should be shown as text for the grader to see"
        with pytest.raises(urllib.error.HTTPError) as refused:
            lab.api("terminals")
        assert refused.value.code == 404, f"the grading server should offer no terminals, /api/terminals: " \
                                          f"{refused.value.code}"
        feedback = page.context.new_page()
        feedback.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        feedback.goto((out / "feedback" / "mallory.html").as_uri())
        feedback.wait_for_load_state("load")
        feedback.wait_for_timeout(1000)
        assert feedback.evaluate(RAN) == [] and not dialogs, \
            f"script from the submission ran in its feedback page: {feedback.evaluate(RAN)} {dialogs}"


@pytest.mark.xdist_group("examples_graded")  # with the other tests of the examples graded once
def test_formgraders_autograde_button_grades_as_the_kit_does(examples_graded, tmp_path):
    """Formgrader's autograde button, in the server ./kit formgrade starts, runs the kit's pipeline (the class
    course's nbgrader_config.py): alice's scores in the gradebook, set to 0, become the 39 ./kit grade gave (bob's
    buggy notebook takes five times as long to grade). The button
    calls the nbgrader app `nbgrader autograde` runs, in the server: tests/e2e/test_front_ends.py runs that by hand
    for every student."""
    out, rows = tmp_path / "out", examples_graded[1]
    shutil.copytree(examples_graded[0], out, symlinks=True)
    db = out / "course" / "gradebook.db"
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gradebook:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush warnings
        for grade in gradebook.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, "alice").grades:
            grade.auto_score = 0 if grade.auto_score is not None else None  # stale: to be autograded again
        gradebook.db.commit()
    launcher = [sys.executable, "-m", "autograder.lms.formgrade", str(out)]
    with browser_on(out / "course", tmp_path, "formgrader-autograde", launcher=launcher) as (lab, page):
        page.goto(lab.url("formgrader"))  # logs in: the submissions page's own requests go without the token
        page.wait_for_load_state("networkidle")
        page.goto(f"{lab.base}/formgrader/manage_submissions/{release.ASSIGNMENT}")
        row = page.locator("#main-table tr").filter(has=page.locator("td.student-id", has_text=re.compile("^alice$")))
        with page.expect_response(lambda response: response.url.endswith(f"/{release.ASSIGNMENT}/alice/autograde"),
                                  timeout=900_000) as graded:
            row.locator("td.autograde a").click()
        result = graded.value.json()
        assert result["success"], f"formgrader's autograde failed: {result.get('error', '')[-3000:]}"
        page.wait_for_selector("#success-modal")
        page.screenshot(path=artifacts() / "formgrader-autograde.png")
        log = lab.log_tail(200_000)
    if sandbox_tier() == "full":
        assert "grades as ./kit grade does: sandboxed kernel" in log and "tmpfs" in log, \
            f"the server should say it grades in the sandbox with the ipc tmpfs; its log: {log[-3000:]}"
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gradebook:
        warnings.simplefilter("ignore", SAWarning)
        alice = gradebook.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, "alice")
        auto = round(sum(grade.auto_score or 0 for grade in alice.grades if grade.cell_type == "code"), 2)
    assert auto == float(rows["alice"]["auto_score"]) > 0, \
        f"formgrader's autograde gave alice {auto}, ./kit grade {rows['alice']['auto_score']}"
