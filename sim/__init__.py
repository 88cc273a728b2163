"""negsim: an agent-based two-level negotiation simulator."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("negsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
