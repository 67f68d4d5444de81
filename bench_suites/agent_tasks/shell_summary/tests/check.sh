#!/bin/bash
# The expected summary is computed from the logs the task started with (kept here).
expected=$'api.log 2\ndb.log 1'
actual=$(cat summary.txt 2>/dev/null)
if [ "$actual" == "$expected" ]; then echo "summary.txt is correct"; exit 0; fi
echo "summary.txt is wrong:"; echo "--- expected"; echo "$expected"; echo "--- got"; echo "$actual"
exit 1
