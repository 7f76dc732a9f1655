"""The Qt editor. Everything here is view/controller code; image work goes through ``unmask_studio.core``."""
