"""Live PyTorch training of cells: the NAS-Bench-201 network (`model`, `ops`), dataset loaders (`data`,
`sources`), the training recipe (`recipe`) at a chosen `scale`, the live oracle behind the oracle
interface (`oracle`), learning-curve early stopping (`curves`), zero-cost proxies (`proxies`) and the
checks of the table against training (`validate`, commands in `commands`). torch is imported only here,
never by the core."""
