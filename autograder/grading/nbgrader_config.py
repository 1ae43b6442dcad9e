"""nbgrader settings of the hw2 course, shared by `python -m autograder.build.generate` and the grader.

Loaded on top of nbgrader's defaults by autograder.grading.course.course_config, under the grading
pipeline's own settings (autograder.grading.core.grading_config). The class course that ./kit grade
makes (OUT/course) has an nbgrader_config.py of its own, which loads both through
autograder.classrun.nbgrader_commands: nbgrader's commands run by hand there grade as ./kit grade does.
Copied alone into a course folder, this file leaves nbgrader's stock pipeline in place (the student's
kernel unsandboxed, hidden tests in it, scores from its outputs), as benchmarks/grading.py measures it.
"""
c = get_config()  # noqa: F821 (injected by traitlets' config loader)

c.CourseDirectory.course_id = "hw2"
# Deleted test cells are restored from the gradebook and scored, instead of "needs manual grade".
c.OverwriteCells.add_missing_cells = True
# Per cell, in seconds: lets a correct but naive (np.vectorize) training loop finish.
c.Execute.timeout = 300
