"""Live PyTorch training of cells behind the oracle interface (planned: see the project's issue on live
training). Nothing here yet; the package exists so the distribution's layout is stable."""
