#!/bin/busybox sh
# Run by programs/exec.c through execve: the kernel runs
# /bin/busybox sh exec_script.sh ARGS...
echo "  script: ${0##*/}, $# args: $*"
echo "  second arg: $2"
echo "  FOO=$FOO"
exit 3
