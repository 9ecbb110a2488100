#!/bin/bash
# Allocation tracking (memory observer): slowdown of an allocation-heavy program tracked
# at several --memory-alloc-sample settings, and the sensor's memory with the 10K
# outstanding-allocation map full. Needs root and the release build in build/.
exec /usr/bin/python3 "$(dirname "$0")/bench_memory_tracking.py" "$@"
