"""Quality checks of the kit itself: the bug bank (classic student bugs and correct variants graded
through the grader, with the points each loses and the message it gets).
"""
