Profile of tests/inspect/builtin_variable.ruff: N samples over N s of CPU time, N in native code
  line  samples   time  native   exits aborts  source
     6        S      S       S       0      2  count := count + size(words[i % 4])
