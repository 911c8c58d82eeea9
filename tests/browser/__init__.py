"""Browser tests (a package, so that its conftest does not replace the root ``conftest``)."""
