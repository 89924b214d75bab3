"""Campus Twin: the spatial core of a school safety ("dual prevention") platform."""

__version__ = "0.1.0"
