"""python -m autograder.build: the same as ./kit build (autograder.build.generate)."""
from autograder.build.generate import main

main()
