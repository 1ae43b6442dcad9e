"""Real-browser helpers for tests/e2e/test_browser.py: a JupyterLab server on 127.0.0.1 and Debian's
headless Chromium driven by Playwright (its own browser downloads are never used).

Neither a server nor a browser outlives the ``with`` block that started it.
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# JupyterLab user settings for the test server: every cell in the DOM (no virtual scrolling, so
# cells can be read in notebook order) and no pop-up asking to fetch news from the internet.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


def artifacts():
    """The folder for screenshots: $HW2_ARTIFACTS, or test-artifacts/ at the repository root."""
    folder = Path(os.environ.get("HW2_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab server: ``url(path)`` adds the token."""

    def __init__(self, port, token, log):
        self.base, self.token, self.log = f"http://127.0.0.1:{port}", token, log

    def url(self, path):
        return f"{self.base}/{path.lstrip('/')}{'&' if '?' in path else '?'}token={self.token}"

    def api(self, path):
        request = urllib.request.Request(f"{self.base}/api/{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def log_tail(self, chars=3000):
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def jupyter_lab(root, home, options=(), timeout=60, launcher=None):
    """Run ``jupyter lab`` serving ``root`` (also its working folder, where nbgrader reads its config).

    ``home`` holds the server's own config, settings, runtime files and log; ``options`` are more
    command-line options. ``launcher``: the command that starts JupyterLab instead (a list of str, run in
    the repository and given the same options, e.g. ./kit formgrade's, which goes to its course itself).
    Fails the test with the server's log when it does not answer within ``timeout`` seconds.
    """
    home = Path(home)
    settings = home / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # ./kit sets Agg: no inline plots
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    port, token = _free_port(), secrets.token_hex(16)
    log = home / "jupyter-lab.log"
    command = [*(launcher or [sys.executable, "-m", "jupyter", "lab"]), "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.allow_root=True",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", *options]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=REPO if launcher else root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    lab = Lab(port, token, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab should serve {root}, but `{' '.join(command)}` exited with code "
                            f"{server.returncode}; its log ends:\n{lab.log_tail()}", pytrace=False)
            try:
                lab.api("status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab should answer on {lab.base} within {timeout} s, it did not "
                                f"(a slow or stuck start); its log ends:\n{lab.log_tail()}", pytrace=False)
                time.sleep(0.2)
        yield lab
    finally:
        _stop(server, home / "runtime")


def _stop(server, runtime):
    """Stop the server (it shuts its kernels down on SIGTERM); kill what is left of it and its kernels."""
    kernels = _pids_mentioning(str(runtime))  # a kernel's command line names its connection file
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    for pid in [server.pid] + kernels:  # kernels run in sessions of their own
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.wait()


def _pids_mentioning(text):
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


@contextmanager
def chromium(home):
    """A fresh headless Debian Chromium (user data in ``home``), as a Playwright browser context."""
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM}, it is missing; install it with "
                    f"`apt-get install chromium chromium-driver` (.ci/run does)", pytrace=False)
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(
                str(home), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1300, "height": 900})
        except Error as error:
            pytest.fail(f"Chromium ({CHROMIUM}) should start headless under Playwright, it did not: {error}",
                        pytrace=False)
        try:
            yield context
        finally:
            context.close()
