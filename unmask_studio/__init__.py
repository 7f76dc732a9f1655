"""Unmask Studio: remove face masks from photos and restore the face underneath."""
__version__ = "0.1.0"
