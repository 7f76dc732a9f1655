"""Training code for Unmask Studio (torch). Never imported by the app."""
