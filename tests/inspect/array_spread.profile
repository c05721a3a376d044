Profile of tests/inspect/array_spread.ruff: N samples over N s of CPU time, N in native code
  line  samples   time  native   exits aborts  source
     6        S      S       S       0      2  pair := [...words, w]
