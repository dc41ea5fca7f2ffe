#!/usr/bin/env python
"""A developer's entry point in a checkout: without SECRET_KEY in the environment it assumes a
development run (DEBUG=1, development keys). Deployments use the `tongxin` console script with
their own settings, where the development keys are refused."""

import os
import sys

from tongxin.__main__ import main

if __name__ == "__main__":
    if "SECRET_KEY" not in os.environ:
        os.environ.setdefault("DEBUG", "1")
    sys.exit(main(sys.argv))
