"""bandit."""
