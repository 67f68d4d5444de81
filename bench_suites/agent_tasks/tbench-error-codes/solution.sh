#!/bin/bash
awk '$9 >= 400 {print $9}' /app/server.log | sort | uniq -c | sort -k1,1nr -k2,2n \
  | awk '{print $2, $1}' > /app/report.txt
cat /app/report.txt
