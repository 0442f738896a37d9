#!/bin/sh
# Get a lesson's terminals ready side by side: scripts/lesson.sh 3
# (the same as `go run ./scripts/lesson 3`; -print, -check work too).
cd "$(dirname "$0")/.." && exec go run ./scripts/lesson "$@"
