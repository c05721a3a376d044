Profile of tests/inspect/builtin_field.ruff: N samples over N s of CPU time, N in native code
  line  samples   time  native   exits aborts  source
     7        S      S       S       0      2  count := count + op.f(words[i % 4])
