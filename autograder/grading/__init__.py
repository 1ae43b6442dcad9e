"""The grading core: one notebook against one release gives one result bundle (core.grade), through
nbgrader's own pipeline extended by this package's preprocessors, with every test cell's cases run in
the grader's process (hidden_tests) and the feedback page made from the result. Imports assignment
and sandbox only: never intake, outputs, classrun or a front-end.
"""
