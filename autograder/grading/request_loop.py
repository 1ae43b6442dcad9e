"""The grader's requests to the student's kernel, carried by one cell per test cell instead of one each.

A request used to be a cell of its own: an execute request, about 4 ms of ipykernel's and nbclient's
machinery each, for some 200 requests a submission. Now the kernel side runs one cell, its loop
(autograder.grading.kernel_side.serve), that asks the grader for the next request over the kernel's stdin
channel and sends the reply with its next question: 0.4 ms a request. The cell runs as any other
(nbclient's execute, with its timeout and its check that the kernel lives), so a kernel that dies, hangs or
floods its outputs in a request is stopped as in a cell; the kernel's questions that are not replies (a
call of a function of the grader's that student code makes) are answered while a request runs.

Everything read from the kernel here is text handed to autograder.grading.kernel, which bounds and
checks it: a reply forged by student code is no more than what that code could return.
"""
import asyncio
from queue import Empty

from nbclient.util import run_sync
from nbformat.v4 import new_code_cell

from autograder.grading.kernel import DEFINE_AND_SERVE, NOT_DEFINED, SERVE, KernelError
from autograder.grading.kernel_side import END_OF_REQUESTS, REPLY_PREFIX


class NotDefined(KernelError):
    """The kernel side is not defined in the kernel (its first request, or student code replaced it)."""


class RequestLoop:
    """Requests sent to the kernel side's loop, which runs as one cell of ``client`` (an nbclient
    NotebookClient with a kernel) at the notebook's cell ``index`` (int).

    answer_question: the grader's answer (str) to a question of the kernel's (its prompt) that is not a
    reply: autograder.grading.kernel.Kernel.answer.
    """

    def __init__(self, client, index, answer_question):
        self.client, self.index, self.answer_question = client, index, answer_question
        self.cell = None  # the cell that runs the loop
        self.serving = None  # the task that runs it (nbclient's execute of that cell)

    def send(self, request):
        """The kernel side's reply (str) to ``request`` (str). KernelError when the loop ended without one
        (an error of the cell, student code that ended it); the exceptions of nbclient's execute when
        the cell failed (the kernel died, or went over the client's timeout)."""
        return run_sync(self._send)(request)

    def end(self):
        """End the loop and wait for its cell (raising as ``send`` does when the kernel failed)."""
        if self.serving is not None:
            run_sync(self._end)()

    async def _send(self, request):
        if self.serving is None or self.serving.done():
            await self._start()
        self.client.kc.input(request)
        return await self._reply()

    async def _start(self):
        """Run the loop's cell, defining the kernel side first where it is not defined, until its first
        question (a reply that says it is ready). What the kernel sent on its stdin channel before is
        dropped: no question of an earlier cell is read as an answer of this one."""
        await self._drop_questions()
        for code in (SERVE, DEFINE_AND_SERVE):
            self.cell = new_code_cell(code)
            self.client.kc.allow_stdin = True  # for the cell's execute request: its questions
            self.serving = asyncio.ensure_future(
                self.client.async_execute_cell(self.cell, self.index, store_history=False))
            try:
                await self._reply()
                return
            except NotDefined:
                continue

    async def _reply(self):
        """The next reply of the loop, the kernel's other questions answered meanwhile."""
        while True:
            question = asyncio.ensure_future(self.client.kc.stdin_channel.get_msg())
            await asyncio.wait({question, self.serving}, return_when=asyncio.FIRST_COMPLETED)
            if not question.done():
                question.cancel()
                self._ended()
            try:
                message = question.result()
            except Exception as error:  # noqa: BLE001 (a message that is not Jupyter's: not signed, not JSON)
                raise KernelError(f"the kernel sent a message that is not Jupyter's ({type(error).__name__})") from None
            if message.get("msg_type") != "input_request":
                continue
            prompt = message.get("content", {}).get("prompt")
            if isinstance(prompt, str) and prompt.startswith(REPLY_PREFIX):
                return prompt[len(REPLY_PREFIX):]
            self.client.kc.input(self.answer_question(prompt))

    def _ended(self):
        """The loop's cell ended before a reply: raise why."""
        self.client.kc.allow_stdin = False
        self.serving.result()  # nbclient's exception, when the kernel failed
        errors = [o for o in self.cell.outputs if o.get("output_type") == "error"]
        if any(error.get("ename") == "NameError" and error.get("evalue") == NOT_DEFINED for error in errors):
            raise NotDefined(NOT_DEFINED)
        if errors:
            raise KernelError(f"{errors[-1].get('ename')}: {errors[-1].get('evalue')}")
        raise KernelError("the kernel stopped answering the grader's requests (student code ended the loop that "
                          "answers them)")

    async def _end(self):
        """Send END_OF_REQUESTS, and again to every question until the loop's cell ends (student code that
        asks for input meanwhile gets it too, and cannot keep the cell waiting)."""
        try:
            while not self.serving.done():
                self.client.kc.input(END_OF_REQUESTS)
                question = asyncio.ensure_future(self._next_question())
                await asyncio.wait({question, self.serving}, return_when=asyncio.FIRST_COMPLETED)
                if question.done():
                    question.exception()  # a message that is not Jupyter's is ignored here
                question.cancel()
            self.serving.result()
        finally:
            self.client.kc.allow_stdin = False
            self.serving = None

    async def _next_question(self):
        while (await self.client.kc.stdin_channel.get_msg()).get("msg_type") != "input_request":
            pass

    async def _drop_questions(self):
        while True:
            try:
                await self.client.kc.stdin_channel.get_msg(timeout=0)
            except Empty:
                return
            except ValueError:  # a message that is not Jupyter's (not signed, not JSON): dropped too
                continue
