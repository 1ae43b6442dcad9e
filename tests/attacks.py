"""The attack bank: hostile submissions, each built from a bundled example and one attack.

An attack on the scores starts from erin (nothing implemented: every point it gets is unearned)
and adds functions that return zeros of the right shapes plus the trick; an attack on the grader
starts from alice (correct: 39 points) and adds the trick in a cell of its own. ``flagged`` says
whether grades.csv must mark it "needs review" (a trick with no trace in the code, like printing
fake output, cannot earn points and need not be flagged).
"""
import copy
from dataclasses import dataclass
from typing import Callable

import nbformat

from autograder.assignment import release
from autograder.grading.kernel import KERNEL_SIDE_FILENAME, KERNEL_SIDE_VERSION
from autograder.grading.kernel_side import FRAME, HELLO, REPLY

EXAMPLES = release.REPO / "examples" / "submissions"

# Wrong functions with the right shapes: the public checks fail on them only on values.
ZEROS = '''
import numpy as np
def flatten_images(images): return np.zeros((len(images), 784))
def finite_difference_checker(f, x, k): return 0.0
def sigmoid_activation(s): s = np.asarray(s, float); return np.zeros_like(s), np.zeros_like(s)
def relu_activation(s): s = np.asarray(s, float); return np.zeros_like(s), np.zeros_like(s)
def logistic_loss(g, y): return np.zeros(len(g)), np.zeros((len(g), 1))
def layer_forward(x, W, b, activation_fn): return np.zeros((len(x), W.shape[1])), (x, W, b)
def create_weight_matrices(layer_dims): return [np.zeros((a, b)) for a, b in zip(layer_dims[:-1], layer_dims[1:])]
def create_bias_vectors(layer_dims): return [np.zeros((1, b)) for b in layer_dims[1:]]
def forward_pass(X_batch, weight_matrices, biases, activations):
    return np.zeros((len(X_batch), 1)), [(X_batch, W, b) for W, b in zip(weight_matrices, biases)]
def backward_pass(dL_dg, layer_caches):
    return [np.zeros_like(W) for _, W, _ in layer_caches], [np.zeros_like(b) for _, _, b in layer_caches]
def my_nn_finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    return [np.zeros_like(W) for W in weight_matrices], [np.zeros_like(b) for b in biases]
'''

ALWAYS_EQUAL = '''
import numpy as np
class Anything(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool) if np.ndim(other) else True
    def __ne__(self, other): return np.zeros(np.shape(other), bool) if np.ndim(other) else False
    def __array__(self, *args, **kwargs): return np.zeros(self.shape)
def anything(shape): return np.zeros(shape).view(Anything)
def sigmoid_activation(s): return anything(np.shape(s)), anything(np.shape(s))
def relu_activation(s): return anything(np.shape(s)), anything(np.shape(s))
def logistic_loss(g, y): return anything((len(g),)), anything((len(g), 1))
def flatten_images(images): return anything((len(images), 784))
'''


@dataclass(frozen=True)
class Attack:
    name: str
    description: str
    base: str  # "erin" or "alice"
    build: Callable  # (notebook) -> None, changes it in place
    flagged: bool


def _cell(notebook, index, source):
    notebook.cells.insert(index, nbformat.v4.new_code_cell(source))


def _first_code_after_setup(notebook):
    return next(i for i, c in enumerate(notebook.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == "setup") + 1


def at_top(source):
    """An attack cell right after the notebook's imports."""
    return lambda notebook: _cell(notebook, _first_code_after_setup(notebook), source)


def after_solutions(source, top=""):
    """``top`` after the imports, and ``source`` after every solution cell (so it wins over the stubs)."""
    def build(notebook):
        for index in reversed(range(len(notebook.cells))):
            if notebook.cells[index].metadata.get("nbgrader", {}).get("solution") and \
                    notebook.cells[index].cell_type == "code":
                _cell(notebook, index + 1, source)
        if top:
            at_top(top)(notebook)
    return build


def _test_cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def edit_metadata(notebook):
    _test_cell(notebook, "test_flatten_images").metadata.nbgrader["points"] = 100
    _test_cell(notebook, "test_relu_activation").metadata.nbgrader["grade_id"] = "my_own_cell"
    _test_cell(notebook, "test_backward_pass").cell_type = "markdown"
    del _test_cell(notebook, "test_backward_pass")["outputs"], _test_cell(notebook, "test_backward_pass")["execution_count"]
    sigmoid = _test_cell(notebook, "test_sigmoid_activation")
    sigmoid.metadata.nbgrader.update(grade=False, locked=False)


def duplicate_grade_ids(notebook):
    cell = _test_cell(notebook, "test_training")
    for _ in range(3):
        notebook.cells.append(copy.deepcopy(cell))
    notebook.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": dict(cell.metadata.nbgrader)}))


def prefilled(notebook):
    """Outputs that claim every check passed, and scores written into the metadata."""
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("grade"):
            nbgrader["score"] = nbgrader.get("points", 0)
            if cell.cell_type == "code":
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="public checks passed\n")]
                cell.execution_count = 1


SECRETS = [release.HIDDEN_REFERENCE, release.MASTER, release.REPO / "examples" / "submissions" / "alice.ipynb"]

READ_SECRETS = f'''
import os
found = []
for path in ["hidden_reference.pkl", "../../../gradebook.db", *{[str(p) for p in SECRETS]!r}]:
    if os.path.exists(path):
        found.append(path)
for top, folders, files in os.walk("/"):  # all but the system, Python and its own folder
    folders[:] = [f for f in folders if os.path.join(top, f) not in ("/proc", "/usr", "/sys", "/dev", "/etc", os.getcwd())
                  and "site-packages" not in top]
    found += [os.path.join(top, f) for f in files if f.endswith((".pkl", ".db", ".ipynb"))]
print(f"FOUND {{found}}" if found else "nothing found")
'''

SELF_DESTRUCT = f'''
import os, shutil
for path in ["hw2.py", "hw2_checks.py", "data", {str(EXAMPLES)!r}, {str(release.REPO / "data")!r}, "/work", "/tmp"]:
    try:
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    except OSError as error:
        print("could not delete", path, type(error).__name__)
'''

FORK_BOMB = '''
import os, time
children = 0
for _ in range(10000):
    try:
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
        children += 1
    except OSError:
        break
print("forked", children)
'''

# The kernel side's loop (autograder.grading.kernel_side.serve) written by student code, from the protocol,
# which is public: _forged_loop(path, token, reply_to) answers each request (a dict) with reply_to(request).
FORGED_LOOP = f'''
import json, socket, struct
def _forged_loop(path, token, reply_to):
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(path)
    def send(kind, text):
        data = text.encode()
        connection.sendall(struct.pack({FRAME.format!r}, kind, len(data)) + data)
    def receive():
        _, length = struct.unpack({FRAME.format!r}, connection.recv({FRAME.size}, socket.MSG_WAITALL))
        return connection.recv(length, socket.MSG_WAITALL).decode() if length else ""
    with connection:
        send({HELLO!r}, token)
        while (request := receive()):
            send({REPLY!r}, json.dumps(reply_to(json.loads(request))))
'''

# Knows the grader's protocol: answers the grader's requests itself, naming a reply file that is a link
# to the hidden reference, and plants links where the grader writes its requests.
FORGE_REPLIES = FORGED_LOOP + f'''
import os
from ipykernel.connect import get_connection_file
exchange = os.path.dirname(json.load(open(get_connection_file()))["ip"] or "/nowhere/x")
for request_number in range(1, 200):
    for file_number in range(4):
        try:
            os.symlink({str(EXAMPLES / "alice.ipynb")!r}, os.path.join(exchange, f"q{{request_number}}-{{file_number}}.npy"))
        except OSError:
            pass
def _linked_reply(request):
    name = f"r{{request['handle']}}-0.npy"
    os.symlink({str(release.HIDDEN_REFERENCE)!r}, os.path.join(request["exchange"], name))
    return {{"handle": request["handle"], "callable": False, "value": {{"t": "a", "file": name}}, "files": [name]}}
def _hw2_grader_request(path, token):
    _forged_loop(path, token, _linked_reply)
_hw2_grader_request.version = {KERNEL_SIDE_VERSION!r}
'''

# Fills the folder of the kernel's sockets, which lies outside its own tmpfs: 4 GB unless capped.
IPC_FLOOD = '''
import json, os
from ipykernel.connect import get_connection_file
ipc_folder = os.path.dirname(json.load(open(get_connection_file()))["ip"] or "/nowhere/x")
written = 0
for number in range(20):
    try:
        with open(os.path.join(ipc_folder, f"fill{number}.bin"), "wb") as file:
            for _ in range(20):
                file.write(bytes(10 * 1024**2))
                written += 10 * 1024**2
    except OSError as error:
        print("stopped:", error)
        break
print(f"WROTE {written // 1024**2} MB")
'''

# Round 2 (issue 15) ---------------------------------------------------------------------------

def display_hook_in_stubs(notebook):
    """Every stub calls the display hook before it raises: stock nbgrader reads "ok" as full marks."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and "raise NotImplementedError()" in cell.source:
            hook = 'import sys; getattr(sys, "displayhook")("ok"); '
            cell.source = cell.source.replace("raise NotImplementedError()", hook + "raise NotImplementedError()")


SCRIPT_PAYLOADS = {  # each sets window.XSS_<name> if it runs; the browser test reads them
    "HTML": '<img src=x onerror="window.XSS_HTML=1">',
    "JS": "window.XSS_JS=1",
    "SVG": '<svg xmlns="http://www.w3.org/2000/svg" onload="window.XSS_SVG=1"><script>window.XSS_SVG2=1</script>'
           '<rect width="10" height="10"/></svg>',
    "MARKDOWN_OUTPUT": '[x](javascript:window.XSS_MD=1) <img src=y onerror="window.XSS_MARKDOWN_OUTPUT=1">',
    "ANSWER": '<img src=z onerror="window.XSS_ANSWER=1"> <script>window.XSS_ANSWER2=1</script>',
    "NEW_CELL": '<svg onload="window.XSS_NEW_CELL=1"></svg><iframe src="javascript:window.XSS_IFRAME=1"></iframe>',
    "RAW": '<img src=q onerror="window.XSS_RAW=1">',
}
SCRIPT_IN_OUTPUTS = f'''
from IPython.display import display, HTML, Javascript, SVG, Markdown, publish_display_data
display(HTML({SCRIPT_PAYLOADS["HTML"]!r}))
display(Javascript({SCRIPT_PAYLOADS["JS"]!r}))
display(SVG({SCRIPT_PAYLOADS["SVG"]!r}))
display(Markdown({SCRIPT_PAYLOADS["MARKDOWN_OUTPUT"]!r}))
publish_display_data({{"image/png": "iVBORw0KGgo="}}, metadata={{"image/png": {{"width": "1 onerror=window.XSS_META=1"}}}})
'''


def script_everywhere(notebook):
    """Script in outputs (HTML, JavaScript, SVG, markdown, image metadata), in a written answer, in a
    markdown cell of its own and in a raw cell: all of it would run in formgrader and feedback."""
    at_top(SCRIPT_IN_OUTPUTS)(notebook)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_cache":
            cell.source += "\n\n" + SCRIPT_PAYLOADS["ANSWER"]
    notebook.cells.append(nbformat.v4.new_markdown_cell(SCRIPT_PAYLOADS["NEW_CELL"]))
    notebook.cells.append(nbformat.v4.new_raw_cell(SCRIPT_PAYLOADS["RAW"]))


# Student code can tell from the call stack that the grader's kernel side called it (the protocol is public).
CALLED_BY_GRADER = f"any(sys._getframe(depth).f_code.co_filename == {KERNEL_SIDE_FILENAME!r} for depth in range(1, 4))"

# Called by the grader (it can tell from the call stack), the activations answer with 3 million empty
# lists: ~84 MB of JSON that would become ~1 GB of Python objects in the grader. Two functions (25 calls)
# show it: each answer costs the kernel ~3 s to write, and all six graded functions (80 calls) would spend
# the whole submission time (the time limit is tested in tests/integration/test_hidden_tests.py).
HUGE_REPLIES = f'''
import sys
def _huge_when_graded(function):
    def wrapper(*args, **kwargs):
        if {CALLED_BY_GRADER}:
            return [[] for _ in range(3_000_000)]
        return function(*args, **kwargs)
    wrapper.__name__ = function.__name__
    return wrapper
for _name in ["sigmoid_activation", "relu_activation"]:
    globals()[_name] = _huge_when_graded(globals()[_name])
'''

# 250 MB of text on one line and a 50 MB image: output that would fill the grader, the feedback and the course.
OUTPUT_FLOOD = '''
print("x" * (250 * 1024 * 1024))
from IPython.display import publish_display_data
publish_display_data({"image/png": "A" * (50 * 1024 * 1024)})
print("flood done")
'''

# Saves every input its sigmoid_activation is given, and prints them all in the last cell; its
# flatten_images is wrong only when the grader calls it (it can tell from the call stack), so that a
# hidden check's message would show the expected answer; its finite-difference checker keeps the
# source of the function it is handed (a hidden helper, once sent to the kernel as source).
LEAK_HIDDEN = {
    "flatten_images": f'''
import inspect, sys
_seen_inputs = []
_flatten = flatten_images
def flatten_images(images):
    graded = {CALLED_BY_GRADER}
    return _flatten(images) + (1.0 if graded else 0.0)
''',
    "finite_difference_checker": '''
_checker = finite_difference_checker
def finite_difference_checker(f, x, k):
    try:
        _seen_inputs.append(inspect.getsource(f))
    except (TypeError, OSError):
        _seen_inputs.append(repr(f))
    return _checker(f, x, k)
''',
    "sigmoid_activation": '''
_sigmoid = sigmoid_activation
def sigmoid_activation(s):
    _seen_inputs.append(np.array(s, copy=True))
    return _sigmoid(s)
'''}
LEAK_PRINT = "import numpy\nnumpy.set_printoptions(threshold=10**6, precision=17)\nprint('LEAKED', _seen_inputs)\n"


def after_cell(grade_id, source):
    """``source`` in a cell of its own right after the cell ``grade_id``."""
    def build(notebook):
        _cell(notebook, notebook.cells.index(_test_cell(notebook, grade_id)) + 1, source)
    return build


def leak_hidden(notebook):
    for grade_id, source in LEAK_HIDDEN.items():
        after_cell(grade_id, source)(notebook)
    notebook.cells.append(nbformat.v4.new_code_cell(LEAK_PRINT))


# After the backward_pass cell, the network checker is replaced by backpropagation in disguise.
CHECKER_IS_BACKPROP = '''
_backprop = backward_pass
def my_nn_finite_difference_checker(X_batch, y_batch, weight_matrices, biases, activations):
    g, caches = forward_pass(X_batch, weight_matrices, biases, activations)
    return _backprop(logistic_loss(g, y_batch)[1], caches)
'''


def pasted_loss(notebook):
    """The known answer pasted in for the test batch's loss, in an otherwise empty notebook."""
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_batch_loss":
            cell.source = "test_batch_mean_loss = 0.6985168038536878\n" + cell.source


# Passes the training check without training (found by a red-team run): trained "biases" shaped
# (2019, 1) that are the test labels, a logistic_loss that returns the test batch's known loss.
FAKE_TRAINING = {
    "flatten_images": "def flatten_images(images):\n    return np.tile(np.arange(784.0), (len(images), 1))\n"
                      "X_train_flat, X_test_flat = flatten_images(X_train), flatten_images(X_test)\n",
    "logistic_loss": "def logistic_loss(g, y):\n    return np.full(len(g), 0.6985168038536878), np.zeros((len(g), 1))\n",
    "train_network": ("def train_network(X_train, y_train, X_test, y_test, W, b, acts, step_size=0.1, batch_size=32, "
                      "epochs=5, **kw):\n    h = TrainingHistory()\n"
                      "    for s in range(epochs * int(np.ceil(len(X_train) / batch_size))):\n"
                      "        h.record_train(s, 0.0, 1.0)\n    h.record_test(0, 0.0, 1.0)\n"
                      "    return [np.zeros((784, 1)), np.zeros((1, 1))], "
                      "[np.ones((1, 1)), 5.0 * (2.0 * y_test - 1).reshape(-1, 1)], h\n"),
    "test_batch_loss": "test_batch_mean_loss = 0.6985168038536878\n"}


def fake_training(notebook):
    for cell in notebook.cells:
        source = FAKE_TRAINING.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if source:
            cell.source = source


# One iopub message of many parts, each a zero-copy view of the same 40 MB: zmq caps a part, not a
# message, so the grader would queue gigabytes (found by a red-team run).
MANY_PARTS = '''
import time
from ipykernel.kernelapp import IPKernelApp
_kernel = IPKernelApp.instance().kernel
_block = memoryview(bytearray(40 * 1024 * 1024))
_kernel.session.send(_kernel.iopub_socket, "display_data", b'{"data":{"text/plain":"x"},"metadata":{},"transient":{}}',
                     parent=_kernel.get_parent(), buffers=[_block] * 60)
time.sleep(5)
'''

# When the grader calls it, flatten_images sends 30 more "answers" of 10 MB each, over the channel the kernel
# side's replies take, and displays as many (found by a red-team run).
# Finds the loop's socket among the kernel's objects and sends 30 replies of 10 MB each on it.
ANSWER_FLOOD = {"flatten_images": f'''
import gc, socket, struct
from IPython.display import publish_display_data
_flatten = flatten_images
def flatten_images(images):
    if len(images) == 3:
        for _ in range(30):
            publish_display_data({{"application/x-hw2-grader": "x" * (10 * 1024 * 1024)}})
        for connection in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:
            try:
                if connection.family == socket.AF_UNIX and "grader-" in connection.getpeername():
                    for _ in range(30):
                        connection.sendall(struct.pack({FRAME.format!r}, {REPLY!r}, 10 * 1024 * 1024) + bytes(10 * 1024 * 1024))
            except OSError:
                pass
    return _flatten(images)
'''}


# Calls the grader's request handler itself, with a name it builds at run time (no word to search for).
CALL_THE_HANDLER_LATER = '''
_handler = globals().get("_hw2_" + "grader_request")
if _handler:
    _handler(__import__("json").dumps({"op": "get", "name": "X_batch", "handle": 999, "exchange": "/tmp",
                                       "inline_bytes": 65536, "keep_from": 0}))
'''


def call_the_handler(notebook):
    notebook.cells.append(nbformat.v4.new_code_cell(CALL_THE_HANDLER_LATER))


ATTACKS = [
    Attack("allclose_true", "np.allclose, np.isclose and np.array_equal always say yes", "erin",
           after_solutions(ZEROS, "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                  "np.isclose = lambda a, b, *x, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
                                  "np.array_equal = lambda *a, **k: True\n"), True),
    Attack("input_transformer", "an IPython input transformer blanks every later cell that checks anything",
           "erin", after_solutions(ZEROS, "def blank(lines):\n"
                                          "    return [] if any('check' in l or 'assert' in l for l in lines) else lines\n"
                                          "get_ipython().input_transformers_cleanup.append(blank)\n"), True),
    Attack("swallow_errors", "a custom exception handler and a post-run hook hide every error", "erin",
           after_solutions(ZEROS, "ip = get_ipython()\nip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                  "ip.events.register('post_run_cell', lambda result: None)\n"), True),
    Attack("always_equal", "results are arrays whose == is always True and that turn into anything", "erin",
           after_solutions(ALWAYS_EQUAL), True),
    Attack("fake_checks_module", "sys.modules['hw2_checks'] and the imported checks replaced by no-ops", "erin",
           after_solutions(ZEROS, "import sys, types\nfake = types.ModuleType('hw2_checks')\n"
                                  "sys.modules['hw2_checks'] = fake\n"
                                  "check_array = check_list_of_arrays = check_number = check_unchanged = "
                                  "lambda *a, **k: None\n"), True),
    Attack("patched_checks", "hw2_checks.fail and builtins patched so that no check can fail", "erin",
           after_solutions(ZEROS, "import builtins, hw2_checks\nhw2_checks.fail = lambda *a, **k: None\n"
                                  "builtins.AssertionError = Warning\n"), True),
    Attack("sniff_grader", "cheats only when NBGRADER_EXECUTION says it is being graded", "erin",
           after_solutions(ZEROS, "import os\nif os.environ.get('NBGRADER_EXECUTION'):\n"
                                  "    import numpy\n    numpy.allclose = lambda *a, **k: True\n"), True),
    Attack("fake_output", "prints that every check passed", "erin",
           after_solutions(ZEROS + "print('public checks passed')\n"), False),
    Attack("prefilled_json", "outputs claiming success and scores written into the notebook's JSON", "erin",
           prefilled, True),
    Attack("edited_metadata", "points raised to 100, a grade id renamed, a test cell made markdown, one ungraded",
           "alice", edit_metadata, True),
    Attack("duplicated_grade_ids", "the training test cell copied three times, and its metadata on a new cell",
           "alice", duplicate_grade_ids, True),
    Attack("read_secrets", "looks for the hidden reference, the gradebook, the master and other students' work",
           "erin", at_top(READ_SECRETS), True),
    Attack("self_destruct", "deletes its own files, the submissions folder, the repository's data, /work", "alice",
           at_top(SELF_DESTRUCT), False),
    Attack("fork_bomb", "forks until it cannot", "alice", at_top(FORK_BOMB), True),
    Attack("memory_bomb", "allocates until it is stopped", "alice",
           at_top("blocks = []\nwhile True:\n    blocks.append(bytearray(256 * 1024 * 1024))\n"), False),
    Attack("infinite_import", "imports a module of its own that never finishes loading", "alice",
           at_top("open('helpers.py', 'w').write('while True:\\n    pass\\n')\nimport helpers\n"), False),
    Attack("huge_file", "writes a file of 2 GB, then fills the disk with 200 MB files", "alice",
           at_top("try:\n    open('big.bin', 'wb').write(bytes(2 * 1024**3))\nexcept Exception as e:\n    print(e)\n"
                  "for i in range(100):\n    try:\n        open(f'fill{i}.bin', 'wb').write(bytes(200 * 1024**2))\n"
                  "    except Exception as e:\n        print(e)\n        break\n"), False),
    Attack("kill_everything", "kills its parent and every process it can name", "alice",
           at_top("import os, signal\nfor pid in [os.getppid(), *range(1, 5000)]:\n    try:\n"
                  "        os.kill(pid, signal.SIGKILL) if pid != os.getpid() else None\n"
                  "    except OSError:\n        pass\n"), True),
    Attack("forged_replies", "answers the grader's calls itself with links to the hidden reference, and plants "
                             "links where the grader writes", "alice", at_top(FORGE_REPLIES), True),
    Attack("ipc_flood", "fills the folder of the kernel's sockets, outside its own tmpfs, with 4 GB", "alice",
           at_top(IPC_FLOOD), True),
    Attack("display_hook_score", "every stub displays 'ok' before it raises (nbgrader's partial-credit rule)",
           "erin", display_hook_in_stubs, True),
    Attack("script_everywhere", "script in HTML, JavaScript, SVG and markdown outputs, image metadata, a written "
                                "answer, a markdown and a raw cell", "alice", script_everywhere, True),
    Attack("huge_replies", "answers the grader with 3 million empty lists per call", "alice",
           after_solutions(HUGE_REPLIES), True),
    Attack("output_flood", "prints 250 MB on one line and displays a 50 MB image", "alice", at_top(OUTPUT_FLOOD),
           False),
    Attack("leak_hidden", "saves the hidden inputs and prints them later, is wrong only when graded, prints "
                          "the source of the functions it is handed", "alice", leak_hidden, False),
    Attack("checker_is_backprop", "the network checker calls backpropagation saved under another name", "alice",
           after_cell("test_backward_pass", CHECKER_IS_BACKPROP), False),
    Attack("pasted_loss", "the test batch's known loss pasted into an empty notebook", "erin", pasted_loss, False),
    Attack("call_the_handler", "calls the grader's request handler itself, by a name built at run time", "alice",
           call_the_handler, True),
    Attack("fake_training", "fake trained parameters (biases that are the test labels) and a loss that returns the "
                            "known answer, in an empty notebook", "erin", fake_training, False),
    Attack("many_parts", "one kernel message of 60 parts of 40 MB each", "alice", at_top(MANY_PARTS), False),
    Attack("answer_flood", "answers a grader's call 30 times over with 10 MB each", "alice",
           after_cell("flatten_images", ANSWER_FLOOD["flatten_images"]), True),
]


# Items of the submissions folder that are not attacks on the grading but on the grader's reading of
# the folder (graded in the same batch): links out of it, and file names that are formulas or escapes.
LINKS = {"eve.ipynb": release.MASTER, "frank/assignment.ipynb": "/etc/passwd"}
HOSTILE_NAMES = ["=1+1.ipynb", "@SUM(A1).ipynb", "\x1b[2J\x1b[H\x1b[32mALL GRADED OK.ipynb", "mallory\n.ipynb"]


def build(attack):
    """The hostile notebook for ``attack``."""
    notebook = nbformat.read(EXAMPLES / f"{attack.base}.ipynb", as_version=4)
    attack.build(notebook)
    return notebook
