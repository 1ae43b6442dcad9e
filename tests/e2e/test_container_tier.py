"""The container sandbox tier, where Gradescope grades: root without the right to make namespaces (Docker's
default capabilities), simulated with ``capsh --drop=cap_sys_admin``. The Gradescope autograder, unpacked and
run as Gradescope runs it, grades a hostile notebook (a correct one plus an attack cell): the attack reads
the master and the hidden reference, forges results.json, traces and kills the grader, forks until it
cannot and leaves a double-forked, setsid process behind that rewrites results.json every 2 ms. It writes
what it managed into a folder the test gives it. results.json must hold the notebook's own score, and no
process of the kernel's user may outlive the grading.
"""
import csv
import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import attacks
import nbformat
import pytest

from autograder.assignment import master, release
from autograder.lms import gradescope
from autograder.sandbox import kernel_launcher, kernel_user

# one after the other: the second looks for what any container kernel left in the shared folders
pytestmark = pytest.mark.xdist_group("container_tier")
ESCAPE = '''
import ctypes, json, os, signal, time
ROOT = {root!r}
EVIDENCE = {evidence!r}
SECRETS = [ROOT + "/source/solutions/master.ipynb", ROOT + "/source/generated/hidden_reference.pkl", ROOT + "/source",
           ROOT + "/results"]
RESULTS = ROOT + "/results/results.json"
evidence = {{"uid": os.getuid(), "read": {{}}, "wrote": {{}}, "signalled": [], "traced": []}}
for path in SECRETS:
    try:
        open(path, "rb").read(100) if os.path.isfile(path) else os.listdir(path)
        evidence["read"][path] = "read"
    except OSError as error:
        evidence["read"][path] = type(error).__name__
for path in [RESULTS, SECRETS[0]]:
    try:
        open(path, "w").write('{{"score": 999, "tests": [], "output": "forged"}}')
        evidence["wrote"][path] = "wrote"
    except OSError as error:
        evidence["wrote"][path] = type(error).__name__
graders = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if b"autograder.lms.gradescope" in open(f"/proc/{{pid}}/cmdline", "rb").read():
            graders.append(int(pid))
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
for pid in graders + [os.getppid()]:
    evidence["traced"].append(libc.ptrace(16, pid, 0, 0) == 0)  # PTRACE_ATTACH
    try:
        os.kill(pid, signal.SIGKILL)
        evidence["signalled"].append(pid)
    except OSError:
        pass
evidence["graders_seen"] = len(graders)
children = []
for _ in range(10000):
    try:
        child = os.fork()
    except OSError:
        break
    if child == 0:
        time.sleep(3600)
        os._exit(0)
    children.append(child)
evidence["forked"] = len(children)
for child in children:  # so that the notebook's own code can go on
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            try:
                open(RESULTS, "w").write('{{"score": 999, "tests": [], "output": "forged"}}')
            except OSError:
                pass
            open(EVIDENCE + "/alive", "w").write(str(time.time()))
            time.sleep(0.002)
    os._exit(0)
json.dump(evidence, open(EVIDENCE + "/evidence.json", "w"))
'''


def readable_python_image(command, hold):
    """``command`` (str, for bash) in a mount namespace of its own where the Python installation is readable
    by other users, as in Gradescope's image (python3 in /usr, the venv in /autograder): the first folder
    above it that others cannot pass (here /root, 0700) is covered by a tmpfs they can pass, holding only
    the folders of that installation and of the grader's cache (bound through ``hold``, an empty folder).
    Nothing on the machine changes."""
    python = Path(sys.base_prefix)
    blocked = next((folder for folder in reversed(python.parents) if not folder.stat().st_mode & 0o001), None)
    if blocked is None:
        return command
    keep = {python.relative_to(blocked).parts[0]}
    cache = Path.home() / ".cache"
    if cache.is_relative_to(blocked) and cache.exists():
        keep.add(cache.relative_to(blocked).parts[0])
    lines = [f"mkdir -p {hold}/{name} && mount --bind {blocked}/{name} {hold}/{name}" for name in keep]
    lines.append(f"mount -t tmpfs -o mode=0711 tmpfs {blocked}")
    lines += [f"mkdir {blocked}/{name} && mount --bind {hold}/{name} {blocked}/{name}" for name in keep]
    return " && ".join(lines + [command])


@pytest.fixture(scope="module", autouse=True)
def _needs_root_with_namespaces():
    if kernel_launcher.sandbox_tier() != "full":
        pytest.fail("simulating a container needs root with namespaces (it drops them with capsh)", pytrace=False)


def test_a_hostile_notebook_gets_its_own_score_in_a_container(tmp_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(gradescope.build(tmp_path / "hw2_gradescope.zip")) as zipped:
        zipped.extractall(root / "source")
    (root / "submission").mkdir(parents=True)
    evidence = Path(tempfile.mkdtemp(prefix="hw2-evidence-"))  # in /tmp: the kernel's user may write there
    evidence.chmod(0o777)
    try:
        notebook = nbformat.read(attacks.EXAMPLES / "alice.ipynb", as_version=4)  # correct: every point
        attacks.at_top(ESCAPE.format(root=str(root), evidence=str(evidence)))(notebook)
        nbformat.write(notebook, root / "submission" / "assignment.ipynb")
        run_autograder = f"AUTOGRADER_ROOT={root} PYTHON={sys.executable} bash {root / 'source' / 'run_autograder'}"
        run = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", readable_python_image(
            f"exec capsh --drop=cap_sys_admin -- -c '{run_autograder}'", tmp_path / "image")], capture_output=True, text=True, timeout=900)
        log = run.stdout + run.stderr
        assert run.returncode == 0, log
        assert kernel_launcher.TIER_LINES["container"] in log
        results = json.loads((root / "results" / "results.json").read_text())
        assert results["score"] == master.read().auto_points, results
        found = json.loads((evidence / "evidence.json").read_text())
        uid = found["uid"]
        assert uid >= kernel_user.FIRST_UID
        assert set(found["read"].values()) == {"PermissionError"}, found["read"]
        assert set(found["wrote"].values()) == {"PermissionError"}, found["wrote"]
        assert found["graders_seen"] >= 1 and found["signalled"] == [] and not any(found["traced"]), found
        assert 0 < found["forked"] < 64, found
        # the process left behind ran, and was killed before results.json was written
        assert (evidence / "alive").stat().st_mtime <= (root / "results" / "results.json").stat().st_mtime
        assert kernel_user.live_processes(uid) == []
    finally:
        shutil.rmtree(evidence, ignore_errors=True)


# the bank's attacks on the sandbox itself (reading, writing and filling what is not the kernel's, processes and
# signals), each on the blank notebook (erin, 0 points): in the container tier they must earn nothing either
SANDBOX_ATTACKS = ["read_secrets", "self_destruct", "fork_bomb", "memory_bomb", "infinite_import", "huge_file",
                   "kill_everything", "forged_replies", "ipc_flood"]
GB = 1024 ** 3


def test_kit_grade_in_a_container_contains_the_attacks_on_the_sandbox(tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    submissions.mkdir()
    bank = {attack.name: attack for attack in attacks.ATTACKS}
    for name in SANDBOX_ATTACKS:
        nbformat.write(attacks.build(dataclasses.replace(bank[name], base="erin")), submissions / f"{name}.ipynb")
    watched = [release.MASTER, release.HIDDEN_REFERENCE, *sorted(attacks.EXAMPLES.iterdir()),
               *sorted(submissions.iterdir())]
    before = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in watched}
    free = shutil.disk_usage(tmp_path).free
    grade = (f"cd {release.REPO} && exec capsh --drop=cap_sys_admin -- -c '{sys.executable} -m autograder.classrun.grade "
             f"{submissions} --out {out} --workers 2 --cell-timeout 20 --submission-timeout 180'")
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                          readable_python_image(grade, tmp_path / "image")], capture_output=True, text=True, timeout=900)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert kernel_launcher.TIER_LINES["container"] in log
    with open(out / "grades.csv", newline="") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    for name in SANDBOX_ATTACKS:
        row = rows[name]
        assert row["status"] in ("graded", "partial"), f"{name}: not graded in the container tier: {row}"
        assert float(row["auto_score"] or 0) == 0, f"{name} earned {row['auto_score']} on a blank notebook: {row}"
        if bank[name].flagged:
            assert row["review"], f"{name} is not flagged for review in the container tier"
    assert {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in watched} == before, "a file changed"
    assert free - shutil.disk_usage(tmp_path).free < GB, "the attacks filled the disk"
    huge = rows["huge_file"]["reason"] + rows["ipc_flood"]["reason"]
    assert "more than" in huge and "MB of disk" in huge, f"the disk watch's reason is not given: {huge[:1500]}"
    left = [entry for folder in kernel_user.SHARED_FOLDERS if folder.exists() for entry in folder.iterdir()
            if entry.lstat().st_uid >= kernel_user.FIRST_UID]
    assert left == [], f"kernels' files left in the shared folders: {left}"
