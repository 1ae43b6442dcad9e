"""nbgrader settings of the hw2 course, shared by `python -m autograder.build.generate` and the grader.

Loaded on top of nbgrader's defaults. To use the nbgrader CLI by hand in a course directory made by
autograder.grading.course, copy this file there as nbgrader_config.py.
"""
c = get_config()  # noqa: F821 (injected by traitlets' config loader)

c.CourseDirectory.course_id = "hw2"
# Deleted test cells are restored from the gradebook and scored, instead of "needs manual grade".
c.OverwriteCells.add_missing_cells = True
# Per cell, in seconds: lets a correct but naive (np.vectorize) training loop finish.
c.Execute.timeout = 300
