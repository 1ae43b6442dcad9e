"""What a submission's cells may keep of their outputs (``OutputBudget``, for ResilientExecute.output).

Everything a kernel sends is bounded in bytes: zmq drops a larger message before it is parsed (and the
grader goes on without it, ResilientExecute), and what a cell or a whole submission keeps as output is
capped here (text and images alike), with a visible note where it was cut. The cell of a test cell's
requests (autograder.grading.request_loop) counts as a cell; the kernel side's replies do not come as outputs.
"""
import json

from nbformat.v4 import new_output

MB = 1024 * 1024
MAX_CELL_OUTPUT_BYTES = 2 * MB
MAX_SUBMISSION_OUTPUT_BYTES = 8 * MB
MAX_ERRORS = 3  # error outputs a cell keeps (an error decides a verdict)
MAX_ERROR_CHARACTERS = 2000  # of an error's message, and of each of its traceback's lines
MAX_TRACEBACK_LINES = 10
TRUNCATED = "[output truncated: {what} went over {limit} MB of output; the rest was dropped]"
REQUEST = "request"  # the budget of the cell of the grader's requests that is running (it counts as a cell)
ALL = "all"  # the submission's budget


class OutputBudget:
    """The outputs one submission keeps: at most MAX_CELL_OUTPUT_BYTES a cell (the cell of a test cell's
    requests counts as a cell) and MAX_SUBMISSION_OUTPUT_BYTES in all, counted in characters (text, base64
    images, JSON); a few short errors a cell."""

    def __init__(self):
        self.kept = {}  # {cell index, REQUEST or ALL: characters kept}
        self.truncated = set()  # the cells (and REQUEST) whose outputs were cut

    def start_request(self):
        """A new cell of the grader's requests: a new budget for it."""
        self.kept.pop(REQUEST, None)
        self.truncated.discard(REQUEST)

    def bounded(self, outs, out, cell_index, request):
        """``out`` (the output nbclient just added to the cell's ``outs``, or None) within the budget: it,
        or None when it was dropped or replaced in ``outs`` by what fits (and a note that it was cut).

        cell_index: int, the cell's; request: bool, whether the cell of the grader's requests is running.
        """
        if out is None:
            return out
        key = REQUEST if request else cell_index
        size = output_size(out)
        cell_room = MAX_CELL_OUTPUT_BYTES - self.kept.get(key, 0)
        total_room = MAX_SUBMISSION_OUTPUT_BYTES - self.kept.get(ALL, 0)
        room = max(0, min(cell_room, total_room))
        if out.output_type == "error":  # kept (an error decides a verdict), shortened; a few per cell
            if sum(o.output_type == "error" for o in outs) > MAX_ERRORS:
                outs.pop()
                return None
            out.evalue = out.get("evalue", "")[:MAX_ERROR_CHARACTERS]
            out.traceback = [line[:MAX_ERROR_CHARACTERS] for line in out.get("traceback", [])[-MAX_TRACEBACK_LINES:]]
            return out
        kept = size if size <= room else room if out.output_type == "stream" else 0
        self.kept[key] = self.kept.get(key, 0) + kept
        self.kept[ALL] = self.kept.get(ALL, 0) + kept
        if size <= room:
            return out
        if outs and outs[-1] is out:
            outs.pop()
        if kept:
            outs.append(new_output("stream", name=out.name, text=out.text[:kept]))
        if key not in self.truncated:
            self.truncated.add(key)
            what, limit = (("this cell", MAX_CELL_OUTPUT_BYTES) if cell_room <= total_room
                           else ("the submission", MAX_SUBMISSION_OUTPUT_BYTES))
            outs.append(new_output("stream", name="stdout",
                                   text="\n" + TRUNCATED.format(what=what, limit=limit // MB) + "\n"))
        return None


def output_size(output):
    """Characters of an output: its text, data (images as base64), or error message and traceback."""
    if output.output_type == "stream":
        return len(output.text)
    if output.output_type == "error":
        return len(output.get("evalue", "")) + sum(map(len, output.get("traceback", [])))
    return sum(len(value) if isinstance(value, str) else len(json.dumps(value))
               for value in output.get("data", {}).values()) + len(json.dumps(output.get("metadata", {})))
