"""A class: which submissions to grade (the ledger), grading them in parallel through the core,
merging each result into the class course and gradebook, hand grades kept across rebuilds, then the
outputs. ``python -m autograder.classrun.grade`` is ``./kit grade``.
"""
