"""The test suite's helpers: plain modules the tests (and ``bench/``) import, and pytest
plugins (``boxfs_support``). Nothing here is collected as tests."""
