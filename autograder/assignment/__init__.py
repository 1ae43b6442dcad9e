"""The assignment as the master notebook defines it: its parts and points (master), the reference
solution (reference), what is released and the version grades are recorded under (release), and
the builder of the public and hidden cases (cases). Read by every other wing; imports none of them.
"""
