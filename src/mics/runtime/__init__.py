"""Process-level speed-ups: ``heap`` sets what lives as long as the process aside
from the cyclic garbage collector's full passes (``gc.freeze``)."""
