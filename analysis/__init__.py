"""Analysis of results directories: summaries, statistics, tables, plots, the HTML report and paper
reproductions. Pure functions that return frames, figures or strings."""
