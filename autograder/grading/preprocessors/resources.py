"""The keys of nbgrader's ``resources`` dict under which these preprocessors hand on what they found."""

VERDICTS = "hw2_verdicts"  # {grade_id: CellVerdict}, from ResilientExecute to SaveVerdicts
REVIEW = "hw2_review"  # [str]: what the kernel or the submission did that a person should look at
