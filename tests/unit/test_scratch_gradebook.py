"""A private course's gradebook is scratch (autograder.grading.course.scratch_gradebook): its commits are not
synced to disk, and no other gradebook loses that."""
from nbgrader.api import Gradebook
from sqlalchemy import text

from autograder.grading import course


def synchronous(path):
    """SQLite's synchronous setting (0 off, 2 full) on a connection nbgrader's Gradebook opens to ``path``."""
    with Gradebook(f"sqlite:///{path}") as gradebook:
        return gradebook.db.execute(text("PRAGMA synchronous")).scalar()


def test_only_the_scratch_gradebook_skips_syncs_and_only_while_it_is_one(tmp_path):
    private, class_gradebook = tmp_path / "private.db", tmp_path / "class.db"
    with course.scratch_gradebook(private):
        assert synchronous(private) == 0, "the private course's gradebook should not wait for the disk"
        assert synchronous(class_gradebook) == 2, "another gradebook must keep SQLite's full syncs"
    assert synchronous(private) == 2, "a gradebook is scratch only while its grading runs"
