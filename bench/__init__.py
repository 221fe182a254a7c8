"""egopt's benchmark suite (``make bench`` / ``egopt bench``): ratios against peers in one run."""
