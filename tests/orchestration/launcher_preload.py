"""Preloaded by the test forkserver: records the pid that imported it."""

import os

LOADED_IN_PID = os.getpid()
