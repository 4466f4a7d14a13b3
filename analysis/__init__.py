"""Analysis of results directories: summaries now; tables, plots, statistics and reports to come."""
