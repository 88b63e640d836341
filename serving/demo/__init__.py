"""``tactful demo``: the whole loop against the real service (harness), or a short journey."""
