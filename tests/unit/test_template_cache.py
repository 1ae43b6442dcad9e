"""The grading environment's templates are made once per version and copied from the cache
(autograder.grading.environment): nbgrader's generate_assignment is replaced by a fake that counts."""
import os

import pytest

from autograder.grading import environment


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache in ``tmp_path``; returns the list of folders the fake generate_release made."""
    made = []

    def generate_release(root):
        made.append(root)
        root.mkdir(parents=True, exist_ok=True)
        (root / "gradebook.db").write_text("gradebook")
        (root / "release").mkdir()

    monkeypatch.setattr(environment, "TEMPLATE_CACHE", tmp_path / "cache")
    monkeypatch.setattr(environment.course, "generate_release", generate_release)
    return made


def test_a_version_is_made_once_and_then_copied(cache):
    first = environment._cached_template("v1")
    again = environment._cached_template("v1")
    assert first == again and len(cache) == 1, "the second grading run reuses the template"
    assert environment.read_version(first) == "v1" and (first / "gradebook.db").read_text() == "gradebook"
    assert environment.TOOLCHAIN in first.name, "another nbgrader or course setting gets another template"
    assert oct(environment.TEMPLATE_CACHE.stat().st_mode & 0o777) == "0o700"
    assert [p.name for p in environment.TEMPLATE_CACHE.iterdir()] == [first.name], "no building folder is left"


def test_a_template_left_unfinished_is_made_again(cache):
    unfinished = environment.TEMPLATE_CACHE / f"v1-{environment.TOOLCHAIN}"
    unfinished.mkdir(parents=True)
    (unfinished / "gradebook.db").write_text("half")  # no version file: a copy that was interrupted
    made = environment._cached_template("v1")
    assert len(cache) == 1 and (made / "gradebook.db").read_text() == "gradebook"


def test_only_the_newest_templates_are_kept_and_use_makes_one_new(cache):
    for number in range(environment.CACHED_TEMPLATES):
        os.utime(environment._cached_template(f"v{number}"), (number, number))  # v0 the oldest
    environment._cached_template("v0")  # used again: now the newest
    environment._cached_template("new")
    names = sorted(p.name.split("-")[0] for p in environment.TEMPLATE_CACHE.iterdir())
    assert len(names) == environment.CACHED_TEMPLATES and "v0" in names and "v1" not in names, names


def test_without_a_writable_cache_the_template_is_made_in_place(cache, tmp_path, monkeypatch, capsys):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setattr(environment, "TEMPLATE_CACHE", blocked / "templates")
    monkeypatch.setattr(environment.release, "check_master", lambda: None)
    monkeypatch.setattr(environment.release, "master_version", lambda: "v1")
    monkeypatch.setattr(environment, "_write_kernel_spec", lambda *args: None)
    prepared = environment.prepare(tmp_path / "work", options=None)
    assert environment.read_version(prepared.template) == "v1" and len(cache) == 1
    assert "cannot be used" in capsys.readouterr().err
