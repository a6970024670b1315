"""`python -m gisgrid.cli`, the same as the `gisgrid` command."""

from gisgrid.cli import main

if __name__ == "__main__":  # importing the module (e.g. to list every module) runs nothing
    main()
