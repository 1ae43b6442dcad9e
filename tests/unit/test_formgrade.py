"""./kit formgrade starts JupyterLab as a grader can use it, also as root (which the sandbox needs)."""
from autograder.lms import formgrade


def test_as_root_jupyter_is_allowed_to_start_without_terminals_and_with_sanitized_html():
    command = formgrade.jupyter_command([], as_root=True)
    assert command[1:4] == ["-m", "jupyter", "lab"]
    assert formgrade.AS_ROOT in command
    assert "--ServerApp.terminals_enabled=False" in command and "--HTMLExporter.sanitize_html=True" in command


def test_not_root_needs_no_allow_root_and_the_users_options_come_last_once():
    assert formgrade.AS_ROOT not in formgrade.jupyter_command(["--port", "9999"], as_root=False)
    command = formgrade.jupyter_command(["--allow-root", "--port", "9999"], as_root=True)
    assert command.count(formgrade.AS_ROOT) == 1 and command[-2:] == ["--port", "9999"]
