"""Estimators: convex networks, gradient-trained networks and baselines."""
