"""The class course's nbgrader_config.py (autograder/classrun/nbgrader_commands.py): nbgrader's own commands in
OUT/course get the grading core's pipeline, the grading kernel and the kit's feedback, set up for the process
they run in, and never nbgrader's stock pipeline when that cannot be; SaveVerdicts keeps hand grades as the
class run's merge does. Fake OUT folders made here: no kernel, no nbgrader command."""
import shutil

import nbformat
import nbgrader.api
import pytest
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets import TraitError
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.assignment import release
from autograder.classrun import nbgrader_commands
from autograder.classrun.nbgrader_commands import Isolation
from autograder.grading import core, environment
from autograder.grading.feedback import FeedbackExporter, feedback_config
from autograder.grading.options import IPC_TMPFS_MB, GradingOptions
from autograder.grading.preprocessors import SaveVerdicts
from autograder.grading.preprocessors.resources import VERDICTS
from autograder.grading.verdict import Case, CellVerdict
from autograder.sandbox import kernel_launcher

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's autoflush warnings
OPTIONS = GradingOptions(cell_timeout=45, submission_timeout=300, memory_mb=2000, blas_threads=1, tier="full")


@pytest.fixture(scope="module")
def version():
    return release.master_version()


def class_out(tmp_path, version, options=OPTIONS, db_url=None):
    """A fake OUT: course/ (its master version and nbgrader_config.py as ./kit grade writes them), work/jupyter."""
    course, jupyter = tmp_path / "out" / "course", tmp_path / "out" / "work" / "jupyter"
    course.mkdir(parents=True)
    (jupyter / "kernels" / environment.KERNEL_NAME).mkdir(parents=True)
    (jupyter / "kernels" / environment.KERNEL_NAME / "kernel.json").write_text("{}")
    (course / environment.VERSION_FILE).write_text(version)
    settings = nbgrader_commands.course_settings(course, options, jupyter, tmp_path / "out" / "exchange", db_url)
    (course / "nbgrader_config.py").write_text(nbgrader_commands.config_text(settings))
    return tmp_path / "out"


def load(course):
    """The configuration nbgrader reads from ``course``'s nbgrader_config.py."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


@pytest.fixture
def isolation(monkeypatch):
    """The process set-up of a command that could make its own mounts (none made here)."""
    monkeypatch.setattr(nbgrader_commands, "isolate", lambda options: Isolation(options.ipc_tmpfs_mb, "test"))


def test_the_class_course_grades_with_the_cores_pipeline_kernel_and_options(tmp_path, version, isolation):
    out = class_out(tmp_path, version)
    config = load(out / "course")
    private = core.grading_config(tmp_path / "private", OPTIONS, tmp_path / "released.ipynb", tmp_path / "jupyter")
    for section, name in [("Autograde", "sanitize_preprocessors"), ("Autograde", "autograde_preprocessors"),
                          ("GenerateFeedback", "preprocessors"), ("GenerateFeedback", "exporter_class"),
                          ("Execute", "kernel_name"), ("Execute", "timeout"), ("ResilientExecute", "submission_timeout"),
                          ("ResilientExecute", "ipc"), ("ResilientExecute", "ipc_tmpfs_mb"),
                          ("ResilientExecute", "hidden_reference"), ("OverwriteCells", "add_missing_cells"),
                          ("ClearHiddenTests", "enforce_metadata"), ("HTMLExporter", "sanitize_html")]:
        assert config[section][name] == private[section][name], f"{section}.{name} differs from the core's"
    assert config.GenerateFeedback.exporter_class is FeedbackExporter
    assert config.Execute.timeout == 45 and config.ResilientExecute.ipc_tmpfs_mb == IPC_TMPFS_MB
    assert config.ResilientExecute.kernel_dirs == [str(out / "work" / "jupyter" / "kernels")]
    assert config.CourseDirectory.root == str(out / "course") and "db_url" not in config.CourseDirectory
    assert config.Exchange.root == str(out / "exchange") and config.CourseDirectory.course_id == "hw2"
    assert config.SanitizeSubmission.released_notebook == str(out / "course" / "release" / "hw2" / "assignment.ipynb")
    reports = out / "work" / nbgrader_commands.REPORTS
    assert config.SaveVerdicts.report_file == str(reports / core.EXECUTION_REPORT) and reports.is_dir()


def test_a_copy_of_out_grades_with_its_own_folders_and_the_class_gradebook_url_is_kept(tmp_path, version, isolation):
    original = class_out(tmp_path / "a", version, db_url="postgresql://grader@/hw2")
    copy = tmp_path / "b" / "out"
    copy.parent.mkdir()
    original.rename(copy)
    config = load(copy / "course")
    assert config.CourseDirectory.root == str(copy / "course") and config.Exchange.root == str(copy / "exchange")
    assert config.ResilientExecute.kernel_dirs == [str(copy / "work" / "jupyter" / "kernels")]
    assert config.CourseDirectory.db_url == "postgresql://grader@/hw2"


def test_an_outdated_course_never_falls_back_to_nbgraders_stock_pipeline(tmp_path, isolation, capfd):
    """After the master changed (until ./kit grade makes the course again), autograde and feedback stop."""
    config = load(class_out(tmp_path, "an-earlier-version") / "course")
    assert "the master changed since this course was made" in capfd.readouterr().err
    assert_stopped(config)


def test_a_course_without_its_grading_kernel_stops_and_says_how_to_get_it_back(tmp_path, version, isolation, capfd):
    out = class_out(tmp_path, version)
    shutil.rmtree(out / "work")
    config = load(out / "course")
    error = capfd.readouterr().err
    assert "the grading kernel's spec" in error and "run ./kit grade again" in error, error
    assert_stopped(config)


def assert_stopped(config):
    """nbgrader's autograde and feedback converters refuse to be made (before they remove or write anything)."""
    for converter in [Autograde, GenerateFeedback]:
        with pytest.raises(TraitError, match=nbgrader_commands.NOT_CONFIGURED):
            converter(coursedir=CourseDirectory(config=config), config=config)


class FakeProcess:
    """environment's process functions, recorded: ``threads`` and ``private`` describe the process."""

    def __init__(self, monkeypatch, threads=1, private=False, tier="full"):
        self.isolated = []
        monkeypatch.setattr(environment, "single_threaded", lambda: threads == 1)
        monkeypatch.setattr(environment, "has_private_mounts", lambda: private)
        monkeypatch.setattr(environment, "isolate_grading_process", self.isolated.append)
        monkeypatch.setattr(nbgrader_commands.kernel_launcher, "sandbox_tier", lambda: tier)


def test_a_command_is_set_up_as_the_class_runs_workers_are(monkeypatch):
    process = FakeProcess(monkeypatch)
    isolation = nbgrader_commands._set_up(OPTIONS, in_server=False)
    assert process.isolated == [OPTIONS] and isolation.ipc_tmpfs_mb == IPC_TMPFS_MB
    assert "sandboxed kernel" in isolation.said and f"{environment.GRADER_MEMORY_MB} MB" in isolation.said


def test_formgrader_in_the_server_kit_formgrade_started_keeps_the_tmpfs_without_the_graders_memory_limit(monkeypatch):
    process = FakeProcess(monkeypatch, threads=12, private=True)
    isolation = nbgrader_commands._set_up(OPTIONS, in_server=True)
    assert process.isolated == [] and isolation.ipc_tmpfs_mb == IPC_TMPFS_MB and "tmpfs" in isolation.said


def test_a_server_with_threads_and_shared_mounts_keeps_the_sandbox_and_warns_of_the_plain_ipc_folder(monkeypatch):
    for threads, in_server in [(12, True), (1, True), (3, False)]:
        process = FakeProcess(monkeypatch, threads=threads)
        isolation = nbgrader_commands._set_up(OPTIONS, in_server=in_server)
        assert process.isolated == [] and isolation.ipc_tmpfs_mb == 0
        assert "sandboxed kernel" in isolation.said and "WARNING" in isolation.said and "./kit formgrade" in isolation.said


def test_a_course_is_never_graded_in_a_weaker_tier_than_it_was(monkeypatch):
    for machine, graded in [("none", "full"), ("container", "full"), ("none", "container")]:
        FakeProcess(monkeypatch, tier=machine)
        with pytest.raises(RuntimeError, match=f"graded in the {graded} sandbox tier"):
            nbgrader_commands._set_up(GradingOptions(tier=graded), in_server=False)


def test_a_course_graded_in_the_container_tier_is_graded_so(monkeypatch):
    process = FakeProcess(monkeypatch, tier="container")
    isolation = nbgrader_commands._set_up(GradingOptions(tier="container"), in_server=False)
    assert isolation == Isolation(0, kernel_launcher.TIER_LINES["container"]) and len(process.isolated) == 1


def test_a_course_graded_without_the_sandbox_says_so(monkeypatch):
    process = FakeProcess(monkeypatch, tier="none")
    isolation = nbgrader_commands._set_up(GradingOptions(tier="none"), in_server=False)
    assert isolation == Isolation(0, kernel_launcher.TIER_LINES["none"]) and len(process.isolated) == 1


def test_the_feedback_exporter_keeps_the_kits_page_whatever_template_nbgrader_asks_for():
    config = feedback_config(Config())
    config.HTMLExporter.template_name = "feedback"  # what NbGraderAPI.generate_feedback sets
    config.HTMLExporter.extra_template_paths = ["/bootstrap-css"]
    exporter = FeedbackExporter(config=config)
    assert exporter.template_name == "hw2_feedback" and exporter.extra_template_paths[0] == "/bootstrap-css"
    assert config.HTMLExporter.template_name == "feedback", "the caller's configuration should be left as it was"


# --- SaveVerdicts in a class gradebook that holds hand grades ---------------------------------------------

def _class_gradebook(path):
    """A gradebook with a test cell (2 points) and a written answer (1 point), and ann's submission with a hand
    grade on each and a hand comment on the answer."""
    gradebook = Gradebook(f"sqlite:///{path}")
    gradebook.add_assignment(release.ASSIGNMENT)
    gradebook.update_or_create_notebook(release.NOTEBOOK, release.ASSIGNMENT)
    gradebook.update_or_create_grade_cell("test_x", release.NOTEBOOK, release.ASSIGNMENT, max_score=2, cell_type="code")
    gradebook.update_or_create_grade_cell("answer_x", release.NOTEBOOK, release.ASSIGNMENT, max_score=1,
                                          cell_type="markdown")
    gradebook.update_or_create_solution_cell("answer_x", release.NOTEBOOK, release.ASSIGNMENT)
    gradebook.add_student("ann")
    gradebook.add_submission(release.ASSIGNMENT, "ann")
    for grade_id, score in [("test_x", 0.5), ("answer_x", 1)]:
        gradebook.find_grade(grade_id, release.NOTEBOOK, release.ASSIGNMENT, "ann").manual_score = score
    gradebook.find_comment("answer_x", release.NOTEBOOK, release.ASSIGNMENT, "ann").manual_comment = "well argued"
    gradebook.db.commit()
    return gradebook


def test_autograding_again_keeps_hand_grades_and_comments_as_the_class_merge_does(tmp_path, monkeypatch):
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "unit-test")  # no `alembic` command
    _class_gradebook(tmp_path / "gradebook.db").close()
    metadata = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "test_x"}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("check(f)", metadata={"nbgrader": metadata}),
        nbformat.v4.new_markdown_cell("Because.", metadata={"nbgrader": {
            "grade": True, "solution": True, "locked": False, "points": 1, "grade_id": "answer_x"}})])
    verdict = CellVerdict(cases=[Case("public", "a", None), Case("hidden", "b", "wrong")])
    resources = {"nbgrader": {"notebook": release.NOTEBOOK, "assignment": release.ASSIGNMENT, "student": "ann",
                              "db_url": f"sqlite:///{tmp_path / 'gradebook.db'}"}, VERDICTS: {"test_x": verdict}}
    SaveVerdicts().preprocess(notebook, resources)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        test, answer = (gradebook.find_grade(g, release.NOTEBOOK, release.ASSIGNMENT, "ann") for g in ["test_x", "answer_x"])
        comment = gradebook.find_comment("answer_x", release.NOTEBOOK, release.ASSIGNMENT, "ann")
        assert (test.auto_score, test.manual_score, test.needs_manual_grade) == (1.0, 0.5, False)
        assert (answer.manual_score, answer.needs_manual_grade, comment.manual_comment) == (1, False, "well argued")
