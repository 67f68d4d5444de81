#!/bin/bash
# Terminal-Bench style: the tests are in $TEST_DIR; pytest's -rA summary is parsed.
cd /app
python3 -m pytest -p no:cacheprovider -rA "$TEST_DIR/test_outputs.py"
