"""Web plumbing shared by every blueprint: error pages."""
