Profile of tests/inspect/dict_truthiness.ruff: N samples over N s of CPU time, N in native code
  line  samples   time  native   exits aborts  source
     6        S      S       S       0      2  if t {
