"""`make bench`: the real Pulumi engine against the local sandbox, this provider vs a naive one.

Run it with `python -m bench --help` from the repository root; see bench/README.md.
"""
