Profile of tests/inspect/branchy.ruff: N samples over N s of CPU time, N in native code
  line  samples   time  native   exits aborts  source
     3        S      S       S       1      0  while i < 1000 {
     4        S      S       S     316      0  if i % 3 == 0 {
