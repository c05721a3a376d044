#!/bin/sh
# Runs an Are-We-Fast-Yet original beside its Ruff port, with the same problem size:
#   AWFY=/path/to/are-we-fast-yet bench/awfy-extra/peer.sh NAME PEER [SIZE]
# NAME is a folder here (nbody, deltablue, ...); PEER is luajit, python3 or pypy3;
# SIZE defaults to the folder's ARGS. One run (num_iterations 1), SIZE as the
# original's inner_iterations. The originals are not copied into this project (they
# are their authors', MIT): AWFY is a checkout of github.com/smarr/are-we-fast-yet
# (the ports follow 50e34b1), whose benchmarks/Lua and benchmarks/Python hold them
# with their harness.
set -e
here=$(cd "$(dirname "$0")" && pwd)
: "${AWFY:?set AWFY to a checkout of github.com/smarr/are-we-fast-yet}"
name=$1
peer=$2
size=${3:-$(cat "$here/$name/ARGS")}
case $name in
    nbody) class=NBody ;;
    deltablue) class=DeltaBlue ;;
    cd) class=CD ;;
    *) class=$(echo "$name" | sed 's/^./\U&/') ;;
esac
case $peer in
    luajit*) cd "$AWFY/benchmarks/Lua" && exec "$peer" harness.lua "$class" 1 "$size" ;;
    *) cd "$AWFY/benchmarks/Python" && exec "$peer" harness.py "$class" 1 "$size" ;;
esac
