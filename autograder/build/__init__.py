"""Everything generated from the master, by ``./kit build`` (generate): the student notebook through
nbgrader generate_assignment, the public and hidden cases, the executed solution, the example
submissions, the test batch and the MNIST subset, the README's points table and the releases file.
It runs the grading core on the master, so it sits above grading.
"""
