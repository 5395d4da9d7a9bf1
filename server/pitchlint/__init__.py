"""Pitchlint: catches me-talk, begging and threats in sales email."""

import os

__version__ = "0.1.0"

# oneDNN keeps a compiled kernel for every matrix shape it meets; emails come in endless
# shapes, so an unbounded cache grows a long-running worker by hundreds of MB. 32 kernels keep
# the common shapes warm (set before PyTorch loads; an explicit setting wins).
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")
