"""Front-ends of the kit in the systems courses use: Gradescope's autograder (gradescope) and
nbgrader's formgrader (formgrade). They call the grading core and the outputs like ./kit grade does.
"""
