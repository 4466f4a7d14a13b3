"""One-shot NAS on a weight-sharing supernet: DARTS-V1/V2, GDAS, RSPS, SETN, ENAS and a latency-aware
variant, each its own small update rule over `supernet.Supernet`; `search.run_search` drives one, and
`commands` is the `nasbench-suite oneshot` command."""
