"""Box as an fsspec file system: ``box://`` paths for pandas, pyarrow, dask and fsspec.

Importing this package imports fsspec; ``import box_widget`` does not.
"""

from .spec import BoxFileSystem

__all__ = ["BoxFileSystem"]
