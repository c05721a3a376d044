Profile of tests/inspect/fib.ruff: N samples over N s of CPU time, N in native code
  line  samples   time  native   exits aborts  source
     2        S      S       S   10925      0  if n < 2 {
