#!/bin/bash
echo "Hello, world!" > hello.txt
chmod a+r hello.txt
