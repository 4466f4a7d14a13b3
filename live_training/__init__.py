"""Live PyTorch training of cells: the NAS-Bench-201 network (`model`, `ops`), dataset loaders (`data`) and
the training recipe (`recipe`). The live oracle behind the oracle interface is still to come. torch is
imported only here, never by the core."""
