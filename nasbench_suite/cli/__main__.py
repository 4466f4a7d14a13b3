from nasbench_suite.cli.main import main

raise SystemExit(main())
