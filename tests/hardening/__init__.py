"""The hardening suite (``pytest -m hardening``)."""
