"""report: findings and series data rendered for people and programs.  Only reporters write output."""
