"""The Jupyter server extension (loaded by the Jupyter server only, never by kernels)."""
